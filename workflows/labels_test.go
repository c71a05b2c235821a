package workflows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// A SyncUser started without search attributes (by the temporal CLI, a
// resync) labels itself, and its result says what it did.
func TestSyncUserStartedWithoutAttributesLabelsItselfAndReports(t *testing.T) {
	env := newEnv(t)
	calls := 0
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, d clerk.Delivery) (store.ApplyResult, error) {
			calls++
			return store.ApplyResult{Changed: calls != 2, Duplicate: calls == 2}, nil
		})
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1"}).Return(
		activities.PushResult{IntercomID: "c_1", Outcome: activities.OutcomeCreated}, nil).Once()
	var upserted []temporal.SearchAttributes
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		upserted = append(upserted, args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)

	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{
		EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1"), delivery("m1"), delivery("m2")},
	})
	var res workflows.SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := workflows.SyncResult{IntercomID: "c_1", Outcome: activities.OutcomeCreated, Events: 3, Applied: 2, Pushes: 1}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if len(upserted) == 0 {
		t.Fatal("no search attributes upserted")
	}
	first := upserted[0]
	if k, _ := first.GetKeyword(searchattr.SyncKind); k != "user" {
		t.Errorf("SyncKind = %q, want user", k)
	}
	if id, _ := first.GetKeyword(searchattr.ClerkUserID); id != "user_1" {
		t.Errorf("ClerkUserID = %q, want user_1", id)
	}
}

// Started by the webhook handler, with its attributes, a run upserts none
// of them again (an extra history event per run for nothing).
func TestSyncUserStartedWithAttributesUpsertsNothing(t *testing.T) {
	env := newEnvWithoutSyncState(t)
	attrs, _ := workflows.EntityLabels(entity.User, "user_1")
	if err := env.SetTypedSearchAttributesOnStart(attrs); err != nil {
		t.Fatal(err)
	}
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, mock.Anything).Return(store.ApplyResult{Duplicate: true}, nil).Once()
	env.OnActivity(a.SyncedIntercomID, mock.Anything, entity.User, "user_1").Return("c_9", nil).Once()
	var upserted []temporal.SearchAttributes
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		upserted = append(upserted, args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)

	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1")}})
	var res workflows.SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// Only a redelivery: no push, yet the result and the attributes name
	// the contact, read from the sync state.
	if want := (workflows.SyncResult{IntercomID: "c_9", Events: 1}); res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if len(upserted) != 1 {
		t.Fatalf("%d upserts, want only IntercomContactID's", len(upserted))
	}
	if id, ok := upserted[0].GetKeyword(searchattr.IntercomContactID); !ok || id != "c_9" {
		t.Fatalf("upserted %v, want IntercomContactID c_9", upserted[0])
	}
	if _, ok := upserted[0].GetKeyword(searchattr.ClerkUserID); ok {
		t.Fatal("ClerkUserID upserted again")
	}
}

// A failed push reads once: the step, Intercom's message, and that it is
// not retried.
func TestAFailedPushSaysTheStepAndIntercomsMessageOnce(t *testing.T) {
	env := newEnv(t)
	recordApplies(env)
	const intercomMsg = "intercom POST /contacts: 400 Name is too long"
	env.OnActivity(a.PushUser, mock.Anything, mock.Anything).Return(activities.PushResult{},
		temporal.NewNonRetryableApplicationError(intercomMsg, activities.ErrTypeClient, nil))
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1")}})
	err := env.GetWorkflowError()
	if err == nil {
		t.Fatal("the workflow succeeded")
	}
	full := err.Error()
	for _, s := range []string{"Name is too long", "push user user_1 to Intercom"} {
		if n := strings.Count(full, s); n != 1 {
			t.Errorf("%q appears %d times in %q, want once", s, n, full)
		}
	}
	if !strings.Contains(full, "not retried") {
		t.Errorf("the failure does not say it is not retried: %q", full)
	}
	if strings.Contains(full, "wrapError") {
		t.Errorf("the failure carries a Go error cause: %q", full)
	}
}
