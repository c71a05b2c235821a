package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// historyBound is the most events a SyncUser run may have: the workflow
// hands over at 2,000 (workflows.maxHistoryEvents); what arrives during
// the workflow task that notices, and while the push in flight ends, is
// the slack.
const historyBound = 3000

// 5,000 events for one user while Intercom answers every call 500, then
// Intercom recovers: no run fails, every event is applied, in arrival
// order, Intercom ends with the last one, and every run's history stays
// under historyBound.
func TestFiveThousandQueuedEventsKeepHistoriesBounded(t *testing.T) {
	t.Parallel()
	const events = 5000
	s := newStack(t, stackOptions{faults: emulator.Faults{ServerErrorRate: 1}})
	user := clerksim.User{ID: s.id("user", "flood"), Email: "flood@example.com", FirstName: "N00000", LastName: "Flood",
		CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	wfID := workflows.UserWorkflowID(user.ID)

	start := time.Now()
	for i := range events {
		typ := clerk.UserUpdated
		if i == 0 {
			typ = clerk.UserCreated
		}
		user.FirstName, user.UpdatedAtMs = fmt.Sprintf("N%05d", i), 1e12+int64(i)
		s.send(fmt.Sprintf("flood-%05d", i), clerksim.UserEvent(typ, user))
	}
	t.Logf("sent %d events in %s while Intercom failed", events, time.Since(start).Round(time.Millisecond))
	if n := len(s.contactsByExternalID(user.ID)); n != 0 {
		t.Fatalf("%d contacts while Intercom failed every call", n)
	}
	s.emulator.SetFaults(emulator.Faults{})
	s.waitIdle(5*time.Minute, wfID)

	// Every run closed completed or continued as new, within the bound.
	lengths := s.runHistoryLengths(wfID)
	t.Logf("history length per run (oldest first, %d runs): %v", len(lengths), lengths)
	for i, n := range lengths {
		if n > historyBound {
			t.Errorf("run %d has %d history events, want at most %d", i+1, n, historyBound)
		}
	}
	if len(lengths) < 2 {
		t.Errorf("%d run(s): 5,000 events should have needed continue-as-new", len(lengths))
	}

	// Every event applied once, in the order sent.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, `SELECT svix_id FROM clerk_events WHERE entity_id = $1 ORDER BY received_at, svix_id`, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != events {
		t.Fatalf("%d events recorded, want %d", len(ids), events)
	}
	for i, id := range ids {
		if want := s.prefix + fmt.Sprintf("flood-%05d", i); id != want {
			t.Fatalf("event %d applied is %s, want %s (arrival order)", i, id, want)
		}
	}
	if got, err := s.store.User(ctx, user.ID); err != nil || got.FirstName == nil || *got.FirstName != user.FirstName {
		t.Fatalf("user row = %+v, %v; want first name %s", got, err, user.FirstName)
	}
	if c := s.contact(user.ID); c.Name != user.FirstName+" Flood" {
		t.Fatalf("contact name = %q, want the last event's %q", c.Name, user.FirstName+" Flood")
	}
}

// runHistoryLengths follows a workflow's continue-as-new chain from its
// latest run back to its first and returns each run's history length,
// oldest first; it fails the test if a run closed any other way than
// completed or continued as new.
func (s *stack) runHistoryLengths(wfID string) []int {
	s.t.Helper()
	var lengths []int
	runID := ""
	for {
		n, status, previous := 0, enumspb.EVENT_TYPE_UNSPECIFIED, ""
		it := s.temporal.GetWorkflowHistory(context.Background(), wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				s.t.Fatalf("history of %s run %s: %v", wfID, runID, err)
			}
			n++
			status = e.GetEventType()
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				previous = a.GetContinuedExecutionRunId()
			}
		}
		if status != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED && status != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			s.t.Errorf("run %s of %s ended with %s", runID, wfID, status)
		}
		lengths = append([]int{n}, lengths...)
		if previous == "" {
			return lengths
		}
		runID = previous
	}
}
