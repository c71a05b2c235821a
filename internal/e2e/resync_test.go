package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// The README's "run a sync again" command, run as written with the
// temporal CLI the Makefile builds: a contact deleted by hand in Intercom
// comes back, without any Clerk event.
func TestResyncWithTheTemporalCLIRestoresIntercom(t *testing.T) {
	t.Parallel()
	cli := testenv.Env(t, "TEMPORAL_CLI")
	s := newStack(t, stackOptions{})
	user := clerksim.User{ID: s.id("user", "resync"), Email: "resync@example.com", FirstName: "Re", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	wfID := workflows.UserWorkflowID(user.ID)
	s.send("1", clerksim.UserEvent(clerk.UserCreated, user))
	s.waitIdle(idle, wfID)
	s.emulator.Reset() // everything deleted in Intercom behind our back

	out, err := exec.Command(cli, "workflow", "signal-with-start",
		"--address", testenv.TemporalAddress(t), "--namespace", testenv.TemporalNamespace(),
		"--workflow-id", wfID, "--type", workflows.SyncUserWorkflow, "--task-queue", s.queue,
		"--input", `{"entity_id":"`+user.ID+`"}`,
		"--signal-name", workflows.ResyncSignal).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow signal-with-start: %v\n%s", err, out)
	}
	s.waitIdle(idle, wfID)
	if c := s.contact(user.ID); c.Email != user.Email || !strings.HasPrefix(c.Name, "Re") {
		t.Fatalf("contact after resync = %+v", c)
	}
}
