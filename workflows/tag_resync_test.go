package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/worker"
	"github.com/intercom-sync/intercom-sync/workflows"
)

var resyncIn = workflows.TagResyncInput{
	NotificationID: "notif_t1", Topic: "conversation_part.tag.created", ConversationID: "conv_1",
	TagID: "42", TagName: "mynatca-sync", IntercomTaskQueue: "q-intercom",
}

// conversationOf100001 is what ReadResyncConversation answers for a
// conversation whose attribute names member 100001.
var conversationOf100001 = activities.ResyncConversation{Found: true, MemberNumber: "100001"}

// newLoggedEnv is newEnv with the workflow logger going to a hook.
func newLoggedEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *logtest.Hook) {
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(logging.NewTemporal(log))
	env := s.NewTestWorkflowEnvironment()
	worker.Register(env, a)
	worker.RegisterIntercom(env, a)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env, hook
}

// logged finds the line with msg whose fields include want.
func logged(hook *logtest.Hook, msg string, want map[string]any) bool {
	for _, e := range hook.AllEntries() {
		if e.Message != msg {
			continue
		}
		ok := true
		for k, v := range want {
			if e.Data[k] != v {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// onQueue records the task queue each Intercom activity ran on.
type queues struct{ seen []string }

func (q *queues) note(ctx context.Context) { q.seen = append(q.seen, activity.GetInfo(ctx).TaskQueue) }

func resyncResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.TagResyncResult {
	t.Helper()
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.TagResyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTagResyncFoldsDuplicatesThenRemovesTheTag(t *testing.T) {
	env, hook := newLoggedEnv(t)
	q := &queues{}
	var order []string
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(
		func(_ context.Context, n activities.Notification) (bool, error) {
			if n.ID != "notif_t1" || n.ConversationID != "conv_1" || n.RunID == "" {
				t.Errorf("claimed %+v", n)
			}
			return true, nil
		}).Once()
	env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").Return(
		func(ctx context.Context, _ string) (activities.ResyncConversation, error) {
			q.note(ctx)
			return conversationOf100001, nil
		}).Once()
	env.OnActivity(a.LookupResyncMember, mock.Anything, "100001").
		Return(activities.MemberLookup{MemberNumber: "100001", Found: true, HasEmail: true}, nil).Once()
	env.OnActivity(a.PrepareResyncContact, mock.Anything, activities.ResyncContactRequest{MemberNumber: "100001", ConversationID: "conv_1"}).Return(
		func(ctx context.Context, _ activities.ResyncContactRequest) (activities.ResyncPlan, error) {
			q.note(ctx)
			order = append(order, "prepare")
			return activities.ResyncPlan{Outcome: activities.ResyncReady, ContactID: "user_new", How: activities.ContactExisting,
				MergeLeads: []string{"lead_1", "lead_2"}, ArchiveUsers: []string{"user_old"}}, nil
		}).Once()
	env.OnActivity(a.MergeLeadIntoUser, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, r activities.MergeRequest) (activities.StepOutcome, error) {
			q.note(ctx)
			if r.Into != "user_new" {
				t.Errorf("merge into %s", r.Into)
			}
			order = append(order, "merge "+r.From)
			return activities.MergedLead, nil
		}).Twice()
	env.OnActivity(a.ArchiveDuplicateUser, mock.Anything, "user_old").Return(
		func(ctx context.Context, id string) (activities.StepOutcome, error) {
			q.note(ctx)
			order = append(order, "archive "+id)
			return activities.ArchivedUser, nil
		}).Once()
	env.OnActivity(a.UpdateResyncContact, mock.Anything,
		activities.ResyncContactRequest{MemberNumber: "100001", ContactID: "user_new", ConversationID: "conv_1"}).Return(
		func(ctx context.Context, _ activities.ResyncContactRequest) (activities.ResyncOutcome, error) {
			q.note(ctx)
			order = append(order, "update")
			return activities.ResyncReady, nil
		}).Once()
	env.OnActivity(a.RemoveConversationTag, mock.Anything,
		activities.UntagRequest{ConversationID: "conv_1", TagID: "42", TagName: "mynatca-sync"}).Return(
		func(ctx context.Context, _ activities.UntagRequest) (activities.StepOutcome, error) {
			q.note(ctx)
			order = append(order, "untag")
			return activities.TagRemoved, nil
		}).Once()
	// Two upserts: the run labels itself (started without attributes, as
	// by the CLI), then records the contact it re-synced.
	var contactAttr, kindAttr string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		attrs := args.Get(0).(temporal.SearchAttributes)
		if v, ok := attrs.GetKeyword(searchattr.IntercomContactID); ok {
			contactAttr = v
		}
		if v, ok := attrs.GetKeyword(searchattr.SyncKind); ok {
			kindAttr = v
		}
	}).Twice()

	env.ExecuteWorkflow(workflows.TagResync, resyncIn)
	res := resyncResult(t, env)
	want := workflows.TagResyncResult{ConversationID: "conv_1", Outcome: activities.ResyncSynced, MemberNumber: "100001",
		ContactID: "user_new", Contact: activities.ContactExisting, MergedLeads: []string{"lead_1", "lead_2"},
		ArchivedUsers: []string{"user_old"}, Tag: activities.TagRemoved}
	if !resultsEqual(res, want) {
		t.Fatalf("result %+v\nwant   %+v", res, want)
	}
	if wantOrder := []string{"prepare", "merge lead_1", "merge lead_2", "archive user_old", "update", "untag"}; !slices.Equal(order, wantOrder) {
		t.Fatalf("order %v, want %v", order, wantOrder)
	}
	for _, queue := range q.seen {
		if queue != "q-intercom" {
			t.Fatalf("an Intercom step ran on %q", queue)
		}
	}
	if kindAttr != "tag-resync" {
		t.Fatalf("SyncKind = %q, want the run to label itself tag-resync", kindAttr)
	}
	if contactAttr != "user_new" {
		t.Fatalf("IntercomContactID = %q", contactAttr)
	}
	for msg, fields := range map[string]map[string]any{
		"Processing tag-based sync for conversation":        {"conversation_id": "conv_1", "tag": "mynatca-sync", "member_number": "100001"},
		"Updated Intercom contact from tag-based sync":      {"contact_id": "user_new", "member_number": "100001"},
		"Removed mynatca-sync tag from conversation":        {"conversation_id": "conv_1"},
		"Tag-based sync failed":                             nil,
		"No member number found in conversation attributes": nil,
	} {
		if found := logged(hook, msg, fields); found != (fields != nil) {
			t.Errorf("log %q with %v: found=%v", msg, fields, found)
		}
	}
}

func resultsEqual(x, y workflows.TagResyncResult) bool {
	return x.ConversationID == y.ConversationID && x.Outcome == y.Outcome && x.MemberNumber == y.MemberNumber &&
		x.ContactID == y.ContactID && x.Contact == y.Contact && slices.Equal(x.MergedLeads, y.MergedLeads) &&
		slices.Equal(x.ArchivedUsers, y.ArchivedUsers) && x.Tag == y.Tag
}

// Without custom attributes in the notification the conversation is read;
// a contact made with the member data and nothing to fold needs no update.
func TestTagResyncReadsTheConversationWhenTheNotificationLacksAttributes(t *testing.T) {
	env, _ := newLoggedEnv(t)
	in := resyncIn
	in.TagID = ""
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(true, nil).Once()
	env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").
		Return(activities.ResyncConversation{Found: true, MemberNumber: "100001"}, nil).Once()
	env.OnActivity(a.LookupResyncMember, mock.Anything, "100001").
		Return(activities.MemberLookup{MemberNumber: "100001", Found: true, HasEmail: true}, nil).Once()
	env.OnActivity(a.PrepareResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncPlan{
		Outcome: activities.ResyncReady, ContactID: "user_new", How: activities.ContactCreated, FieldsWritten: true}, nil).Once()
	env.OnActivity(a.UpdateResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncOutcome(""), nil).Never()
	env.OnActivity(a.RemoveConversationTag, mock.Anything,
		activities.UntagRequest{ConversationID: "conv_1", TagName: "mynatca-sync"}).Return(activities.AlreadyDone, nil).Once()
	env.ExecuteWorkflow(workflows.TagResync, in)
	res := resyncResult(t, env)
	if res.Outcome != activities.ResyncSynced || res.Contact != activities.ContactCreated || res.Tag != activities.AlreadyDone {
		t.Fatalf("result %+v", res)
	}
}

// The member number is Intercom's: a notification that claims another
// (the input of a run started before the re-read) does not decide it.
func TestTagResyncTakesTheMemberNumberFromIntercom(t *testing.T) {
	env, _ := newLoggedEnv(t)
	in := resyncIn
	in.AttributesSent, in.MemberNumber = true, "100002"
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(true, nil).Once()
	env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").Return(conversationOf100001, nil).Once()
	env.OnActivity(a.LookupResyncMember, mock.Anything, "100001").
		Return(activities.MemberLookup{MemberNumber: "100001", Found: true, HasEmail: true}, nil).Once()
	env.OnActivity(a.PrepareResyncContact, mock.Anything, activities.ResyncContactRequest{MemberNumber: "100001", ConversationID: "conv_1"}).
		Return(activities.ResyncPlan{Outcome: activities.ResyncReady, ContactID: "user_new", How: activities.ContactCreated, FieldsWritten: true}, nil).Once()
	env.OnActivity(a.RemoveConversationTag, mock.Anything, mock.Anything).Return(activities.TagRemoved, nil).Once()
	env.ExecuteWorkflow(workflows.TagResync, in)
	if res := resyncResult(t, env); res.Outcome != activities.ResyncSynced || res.MemberNumber != "100001" {
		t.Fatalf("result %+v, want member 100001 synced", res)
	}
}

// Every stop completes the run with its outcome, touches no contact and
// leaves the tag on the conversation.
func TestTagResyncStops(t *testing.T) {
	found := activities.MemberLookup{MemberNumber: "100001", Found: true, HasEmail: true}
	for _, tc := range []struct {
		name       string
		in         func(workflows.TagResyncInput) workflows.TagResyncInput
		claim      bool
		conv       *activities.ResyncConversation
		lookup     *activities.MemberLookup
		plan       *activities.ResyncPlan
		outcome    activities.ResyncOutcome
		logMessage string
	}{
		{name: "redelivered notification", claim: false, outcome: activities.ResyncDuplicate,
			logMessage: "Duplicate Intercom notification; nothing to do"},
		{name: "no member number", claim: true,
			conv: &activities.ResyncConversation{Found: true}, outcome: activities.ResyncNoMemberNumber,
			logMessage: "No member number found in conversation attributes"},
		// A clear outcome, not a failure: no retry can fix what was typed.
		{name: "invalid member number", claim: true,
			conv: &activities.ResyncConversation{Found: true, InvalidMemberNumber: true}, outcome: activities.ResyncInvalidMemberNumber,
			logMessage: "Member number in conversation attributes is not a member number; skipped"},
		{name: "conversation gone", claim: true,
			conv: &activities.ResyncConversation{}, outcome: activities.ResyncConversationNotFound,
			logMessage: "Conversation not found in Intercom"},
		{name: "unknown member", claim: true, lookup: &activities.MemberLookup{MemberNumber: "100001"},
			outcome: activities.ResyncMemberNotFound, logMessage: "Member not found for tag-based sync"},
		{name: "member without email", claim: true, lookup: &activities.MemberLookup{MemberNumber: "100001", Found: true},
			outcome: activities.ResyncMemberNoEmail, logMessage: "Member has no email; no contact to sync"},
		{name: "member gone before the contact step", claim: true, lookup: &found,
			plan:    &activities.ResyncPlan{Outcome: activities.ResyncMemberNotFound},
			outcome: activities.ResyncMemberNotFound, logMessage: "Member not usable for tag-based sync"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, hook := newLoggedEnv(t)
			in := resyncIn
			if tc.in != nil {
				in = tc.in(in)
			}
			env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(tc.claim, nil).Once()
			switch {
			case tc.conv != nil:
				env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").Return(*tc.conv, nil).Once()
			case tc.claim:
				env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").Return(conversationOf100001, nil).Once()
			default:
				env.OnActivity(a.ReadResyncConversation, mock.Anything, mock.Anything).Return(activities.ResyncConversation{}, nil).Never()
			}
			if tc.lookup != nil {
				env.OnActivity(a.LookupResyncMember, mock.Anything, "100001").Return(*tc.lookup, nil).Once()
			} else {
				env.OnActivity(a.LookupResyncMember, mock.Anything, mock.Anything).Return(activities.MemberLookup{}, nil).Never()
			}
			if tc.plan != nil {
				env.OnActivity(a.PrepareResyncContact, mock.Anything, mock.Anything).Return(*tc.plan, nil).Once()
			} else {
				env.OnActivity(a.PrepareResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncPlan{}, nil).Never()
			}
			env.OnActivity(a.MergeLeadIntoUser, mock.Anything, mock.Anything).Return(activities.StepOutcome(""), nil).Never()
			env.OnActivity(a.ArchiveDuplicateUser, mock.Anything, mock.Anything).Return(activities.StepOutcome(""), nil).Never()
			env.OnActivity(a.UpdateResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncOutcome(""), nil).Never()
			env.OnActivity(a.RemoveConversationTag, mock.Anything, mock.Anything).Return(activities.StepOutcome(""), nil).Never()
			env.ExecuteWorkflow(workflows.TagResync, in)
			res := resyncResult(t, env)
			if res.Outcome != tc.outcome || res.Tag != "" {
				t.Fatalf("result %+v, want outcome %s", res, tc.outcome)
			}
			if !logged(hook, tc.logMessage, map[string]any{"conversation_id": "conv_1"}) {
				t.Fatalf("no log %q naming the conversation", tc.logMessage)
			}
		})
	}
}

// A step that fails retryably is retried on its own: the steps before it
// are not run again, and the tag is removed once, at the end.
func TestTagResyncResumesAtTheFailedStep(t *testing.T) {
	env, _ := newLoggedEnv(t)
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(true, nil).Once()
	env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").Return(conversationOf100001, nil).Once()
	env.OnActivity(a.LookupResyncMember, mock.Anything, "100001").
		Return(activities.MemberLookup{MemberNumber: "100001", Found: true, HasEmail: true}, nil).Once()
	env.OnActivity(a.PrepareResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncPlan{
		Outcome: activities.ResyncReady, ContactID: "lead_0", How: activities.ContactConverted, FieldsWritten: true,
		MergeLeads: []string{"lead_1", "lead_2"}}, nil).Once()
	env.OnActivity(a.MergeLeadIntoUser, mock.Anything, activities.MergeRequest{From: "lead_1", Into: "lead_0"}).
		Return(activities.MergedLead, nil).Once()
	failures := 0
	env.OnActivity(a.MergeLeadIntoUser, mock.Anything, activities.MergeRequest{From: "lead_2", Into: "lead_0"}).Return(
		func(context.Context, activities.MergeRequest) (activities.StepOutcome, error) {
			if failures < 2 {
				failures++
				return "", temporal.NewApplicationError("intercom POST /contacts/merge: 500 Server Error", activities.ErrTypeServer)
			}
			return activities.MergedLead, nil
		}).Times(3)
	// Merging brought the leads' attributes in: the member data is written again.
	env.OnActivity(a.UpdateResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncReady, nil).Once()
	env.OnActivity(a.RemoveConversationTag, mock.Anything, mock.Anything).Return(activities.TagRemoved, nil).Once()
	env.ExecuteWorkflow(workflows.TagResync, resyncIn)
	res := resyncResult(t, env)
	if res.Outcome != activities.ResyncSynced || !slices.Equal(res.MergedLeads, []string{"lead_1", "lead_2"}) || failures != 2 {
		t.Fatalf("result %+v after %d failures", res, failures)
	}
}

// A step that fails for good fails the run with the step and Intercom's
// message; the tag stays.
func TestTagResyncFailureKeepsTheTag(t *testing.T) {
	env, hook := newLoggedEnv(t)
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(true, nil).Once()
	env.OnActivity(a.ReadResyncConversation, mock.Anything, "conv_1").Return(conversationOf100001, nil).Once()
	env.OnActivity(a.LookupResyncMember, mock.Anything, "100001").
		Return(activities.MemberLookup{MemberNumber: "100001", Found: true, HasEmail: true}, nil).Once()
	env.OnActivity(a.PrepareResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncPlan{
		Outcome: activities.ResyncReady, ContactID: "user_new", How: activities.ContactExisting,
		ArchiveUsers: []string{"user_old"}}, nil).Once()
	env.OnActivity(a.ArchiveDuplicateUser, mock.Anything, "user_old").Return(activities.StepOutcome(""),
		temporal.NewNonRetryableApplicationError("intercom POST /contacts/{id}/archive: 403 Active subscription needed.",
			activities.ErrTypeAuth, nil)).Once()
	env.OnActivity(a.UpdateResyncContact, mock.Anything, mock.Anything).Return(activities.ResyncOutcome(""), nil).Never()
	env.OnActivity(a.RemoveConversationTag, mock.Anything, mock.Anything).Return(activities.StepOutcome(""), nil).Never()
	env.ExecuteWorkflow(workflows.TagResync, resyncIn)
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "archive duplicate user user_old") ||
		!strings.Contains(err.Error(), "Active subscription needed") || !hasApplicationErrorType(err, activities.ErrTypeAuth) {
		t.Fatalf("err = %v", err)
	}
	if !logged(hook, "Tag-based sync failed", map[string]any{"conversation_id": "conv_1", "member_number": "100001"}) {
		t.Fatal("the failure was not logged with the conversation")
	}
}

func TestTagResyncWorkflowID(t *testing.T) {
	if got := workflows.TagResyncWorkflowID("147000000001"); got != "tag-resync/147000000001" {
		t.Fatal(got)
	}
}

// RESYNC_TAG's default is the tag the workflow and the webhook assume.
func TestResyncTagDefault(t *testing.T) {
	for _, k := range config.Keys {
		if k.Env == "RESYNC_TAG" {
			if k.Default != workflows.DefaultResyncTag {
				t.Fatalf("RESYNC_TAG defaults to %q, workflows.DefaultResyncTag is %q", k.Default, workflows.DefaultResyncTag)
			}
			return
		}
	}
	t.Fatal("RESYNC_TAG is not a config key")
}
