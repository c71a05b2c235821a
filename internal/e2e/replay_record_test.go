package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/worker"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// replayDir holds recorded histories that workflows/replay_test.go replays
// on every `make test`, so a non-deterministic workflow change fails CI.
const replayDir = "../../workflows/testdata/replay/current"

// TestRecordedHistoriesReplay runs a user's and an organization's whole
// life through the real stack, then replays every resulting history with
// the current workflow code. With UPDATE_REPLAY_HISTORIES=1 it also saves
// them to workflows/testdata/replay/current. After a workflow change (made
// compatible with workflow.GetVersion), move current/ to a folder named for
// the old version and record again, so both keep replaying.
func TestRecordedHistoriesReplay(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	org := clerksim.Org{ID: s.id("org", "replay"), Name: "Replay Inc", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	user := clerksim.User{ID: s.id("user", "replay"), Email: "replay@example.com", FirstName: "Re", LastName: "Play", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	mem := clerksim.Membership{ID: s.id("orgmem", "replay"), UserID: user.ID, Org: org, CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	userWF, orgWF := workflows.UserWorkflowID(user.ID), workflows.OrgWorkflowID(org.ID)

	s.send("r1", clerksim.OrgEvent(clerk.OrgCreated, org))
	s.send("r2", clerksim.UserEvent(clerk.UserCreated, user))
	s.send("r3", clerksim.MembershipEvent(clerk.MembershipCreated, mem))
	s.waitIdle(idle, userWF, orgWF)
	s.send("r3", clerksim.MembershipEvent(clerk.MembershipCreated, mem)) // a redelivery: no push
	s.waitIdle(idle, userWF)
	s.send("r4", clerksim.MembershipEvent(clerk.MembershipDeleted, mem))
	s.send("r5", clerksim.DeletedEvent(clerk.UserDeleted, user.ID, "user"))
	s.send("r6", clerksim.DeletedEvent(clerk.OrgDeleted, org.ID, "organization"))
	s.waitIdle(idle, userWF, orgWF)

	// An invitation, accepted by someone who then signs up.
	org2 := clerksim.Org{ID: s.id("org", "replay2"), Name: "Replay Two", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	p := newPerson(s, "replay-inv", org2, "invitee@example.com", "invitee@example.com")
	s.send("r7", clerksim.OrgEvent(clerk.OrgCreated, org2))
	for _, name := range []string{"C", "A", "U", "M"} {
		s.send("r8"+name, p.events[name])
		s.waitIdle(idle, p.workflowIDs()...)
	}
	inviteWF, invitedUserWF := p.workflowIDs()[0], p.workflowIDs()[1]

	// A member writes to support: enriched, then the notification again.
	s.addPositions("100001", "Facility President")
	member, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: "ada.lovelace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	notif := testenv.Name("notif_")
	s.notify(conversationNotification(notif, intercom.TopicConversationUserCreated, member.ID))
	s.enrichResult(member.ID)
	s.notify(conversationNotification(notif, intercom.TopicConversationUserCreated, member.ID))
	s.enrichResult(member.ID)
	enrichWF := workflows.EnrichWorkflowID(member.ID)

	// The agent tags the conversation for a re-sync.
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"}, member.ID)
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagPart, tag, map[string]any{"Member Number Verification": "100001"}))
	s.mustResync(conv.ID, activities.ResyncSynced)
	tagWF := workflows.TagResyncWorkflowID(conv.ID)

	// A backfill over everything above (a dry run, then a real one).
	backfillWF := workflows.BackfillWorkflowID("replay", time.Now())
	for i, dry := range []bool{true, false} {
		run, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-%d", backfillWF, i), TaskQueue: s.queue,
		}, workflows.BackfillWorkflow, workflows.BackfillInput{DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(context.Background(), nil); err != nil {
			t.Fatalf("backfill: %v", err)
		}
	}

	histories := map[string]*historypb.History{}
	for _, wfID := range []string{userWF, orgWF, inviteWF, invitedUserWF, enrichWF, tagWF, backfillWF + "-0", backfillWF + "-1"} {
		for i, runID := range s.runIDs(wfID) {
			h := s.history(wfID, runID)
			kind := strings.SplitN(wfID, "/", 2)[0]
			if strings.HasPrefix(wfID, backfillWF) {
				kind = "backfill" + strings.TrimPrefix(wfID, backfillWF)
			}
			if wfID == invitedUserWF {
				kind = "invited-user"
			}
			histories[fmt.Sprintf("%s-run%d.json", kind, i+1)] = h
		}
	}
	if len(histories) < 4 {
		t.Fatalf("only %d runs recorded", len(histories))
	}
	replayer := sdkworker.NewWorkflowReplayer()
	worker.RegisterWorkflows(replayer)
	for name, h := range histories {
		if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
			t.Fatalf("replay %s: %v", name, err)
		}
	}
	if os.Getenv("UPDATE_REPLAY_HISTORIES") == "" {
		return
	}
	if err := os.MkdirAll(replayDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, h := range histories {
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(replayDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d histories to %s", len(histories), replayDir)
}

// runIDs lists the runs of a workflow id, oldest first.
func (s *stack) runIDs(wfID string) []string {
	s.t.Helper()
	var ids []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", wfID),
		})
		if err != nil {
			s.t.Fatal(err)
		}
		ids = ids[:0]
		closed := true
		for i := len(resp.Executions) - 1; i >= 0; i-- {
			e := resp.Executions[i]
			ids = append(ids, e.Execution.RunId)
			closed = closed && e.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}
		// Visibility is eventually consistent: wait until every run shows.
		if len(ids) > 0 && closed {
			return ids
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("runs of %s not visible", wfID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *stack) history(wfID, runID string) *historypb.History {
	s.t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}
