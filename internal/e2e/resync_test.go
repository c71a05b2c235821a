package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/intercom-sync/intercom-sync/activities"
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

// A SyncUser started by the temporal CLI, which sets no search attributes,
// is found by ClerkUserID like a webhook's ("all syncs of this user"), and
// its result says what it did.
func TestACLIStartedSyncUserIsFoundByClerkUserID(t *testing.T) {
	t.Parallel()
	cli := testenv.Env(t, "TEMPORAL_CLI")
	s := newStack(t, stackOptions{})
	userID := s.id("user", "cli_started") // no webhook ever named it: any run found is the CLI's
	wfID := workflows.UserWorkflowID(userID)
	out, err := exec.Command(cli, "workflow", "signal-with-start",
		"--address", testenv.TemporalAddress(t), "--namespace", testenv.TemporalNamespace(),
		"--workflow-id", wfID, "--type", workflows.SyncUserWorkflow, "--task-queue", s.queue,
		"--input", `{"entity_id":"`+userID+`"}`,
		"--signal-name", workflows.ResyncSignal).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow signal-with-start: %v\n%s", err, out)
	}
	s.waitIdle(idle, wfID)

	var res workflows.SyncResult
	if err := s.temporal.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeAbsent || res.Pushes != 1 {
		t.Fatalf("result %+v, want one push with outcome absent (no such user in the database)", res)
	}
	query := fmt.Sprintf(`ClerkUserID = %q AND SyncKind = "user"`, userID)
	deadline := time.Now().Add(30 * time.Second) // visibility is eventually consistent
	for {
		resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: testenv.TemporalNamespace(), Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.GetExecutions()); n == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == wfID {
			return
		} else if n > 1 {
			t.Fatalf("%d runs found by %s, want the one", n, query)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no run found by %s within 30 s", query)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
