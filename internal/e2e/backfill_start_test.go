package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// The three documented ways to start a backfill, run as an operator would:
// the temporal CLI line with '{}', `make backfill ENVIRONMENT_NAME=staging`
// and `intercom-sync backfill --dry-run --wait`, plain and on a terminal.
func TestBackfillStartsThreeWays(t *testing.T) {
	t.Parallel()
	cli := testenv.Env(t, "TEMPORAL_CLI")
	// Slow answers stretch each backfill over a few progress ticks.
	s := newStack(t, stackOptions{faults: emulator.Faults{SlowRate: 0.5, SlowDelay: 150 * time.Millisecond, Seed: 3}})
	p := s.seedPopulation(3, 12)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// The service's own settings, as an operator's shell (or
	// .dev/run/env) would have them; the stack's queues, not the default.
	env := append(os.Environ(),
		"TEMPORAL_ADDRESS="+testenv.TemporalAddress(t), "TEMPORAL_NAMESPACE="+testenv.TemporalNamespace(),
		"TEMPORAL_TASK_QUEUE="+s.queue, "INTERCOM_TASK_QUEUE="+s.queue+"-intercom")
	// Nor the make that may be running this test: the make below is the
	// operator's own.
	for _, name := range []string{"ENVIRONMENT_NAME=", "MAKEFLAGS=", "MFLAGS=", "MAKELEVEL="} {
		env = slicesWithout(env, name)
	}
	if raceEnabled {
		// Build the binary as the test binary was: its packages are then
		// already compiled.
		env = append(env, "GOFLAGS=-race")
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// 1. The temporal CLI, as documented (the stack's task queue instead
	// of intercom-sync; the address from the environment).
	out := run(cli, "workflow", "start", "--task-queue", s.queue, "--type", "Backfill", "--input", "{}")
	m := regexp.MustCompile(`WorkflowId\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no workflow id in:\n%s", out)
	}
	res := s.backfillResult(s.temporal.GetWorkflow(context.Background(), m[1], ""))
	if res.Created != 3+12 || res.Environment != environment {
		t.Fatalf("temporal CLI backfill: %+v", res.BackfillProgress)
	}
	s.requireIntercomMatchesDB(environment)

	// 2. make backfill ENVIRONMENT_NAME=staging: the environment written
	// and named in the workflow id; ARGS narrows it to one user (and its
	// organization, number 2).
	out = run("make", "--no-print-directory", "backfill", "ENVIRONMENT_NAME=staging", "ARGS=--user "+p.users[5].ID)
	if !regexp.MustCompile(`Backfill backfill/staging/\S+ finished in \S+: 2 of 2 entities`).MatchString(out) ||
		!strings.Contains(out, "updated 2") {
		t.Fatalf("make backfill printed:\n%s", out)
	}
	if c := s.contact(p.users[5].ID); c.CustomAttributes["environment"] != "staging" {
		t.Fatalf("contact after make backfill ENVIRONMENT_NAME=staging: %v", c.CustomAttributes)
	}
	if co, _ := s.company(p.orgs[2].ID); co.CustomAttributes["environment"] != "staging" {
		t.Fatalf("company after make backfill ENVIRONMENT_NAME=staging: %v", co.CustomAttributes)
	}
	if c := s.contact(p.users[4].ID); c.CustomAttributes["environment"] != environment {
		t.Fatalf("make backfill --user touched another user: %v", c.CustomAttributes)
	}

	// 3. intercom-sync backfill (the binary make built): a dry run of
	// organization 2 (members 2, 4, 5, 8, 11), plain lines when not on a
	// terminal...
	bin := filepath.Join(root, "bin", "intercom-sync")
	writes := s.emulator.Snapshot().Counters.Writes
	out = run(bin, "backfill", "--env", environment, "--org", p.orgs[2].ID, "--dry-run", "--wait")
	if !regexp.MustCompile(`Dry run backfill/e2e/\S+ finished in \S+: 6 of 6 entities`).MatchString(out) ||
		!strings.Contains(out, "would be updated 2") ||
		!strings.Contains(out, "would update organization "+p.orgs[2].ID+" fields custom_attributes.environment") ||
		!strings.Contains(out, "would update user "+p.users[5].ID+" fields custom_attributes.environment") ||
		strings.Contains(out, "\r") {
		t.Fatalf("intercom-sync backfill --dry-run --wait printed:\n%s", out)
	}
	if w := s.emulator.Snapshot().Counters.Writes - writes; w != 0 {
		t.Fatalf("dry run made %d writes", w)
	}
	// ...and a progress bar on one (script gives it a pseudo-terminal).
	out = run("script", "-qec", bin+" backfill --env "+environment+" --wait", "/dev/null")
	if !strings.Contains(out, "\r\x1b[K[") || !regexp.MustCompile(`\] +\d+%  \d+/\d+  \w+`).MatchString(out) ||
		!regexp.MustCompile(`Backfill backfill/e2e/\S+ finished in \S+: 15 of 15 entities`).MatchString(out) {
		t.Fatalf("intercom-sync backfill --wait on a terminal printed:\n%q", out)
	}
	s.requireIntercomMatchesDB(environment)
}

func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
