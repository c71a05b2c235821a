package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/worker"
	"github.com/intercom-sync/intercom-sync/workflows"
)

var a *activities.Activities

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := newEnvWithoutSyncState(t)
	// A run that pushed nothing reads its Intercom id from the sync state:
	// none recorded.
	env.OnActivity(a.SyncedIntercomID, mock.Anything, mock.Anything, mock.Anything).Return("", nil).Maybe()
	return env
}

// newEnvWithoutSyncState leaves SyncedIntercomID for the test to mock.
func newEnvWithoutSyncState(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	worker.Register(env, a)
	worker.RegisterIntercom(env, a)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// recordApplies mocks ApplyClerkEvent as changing the database and
// returns the svix-ids it was called with, in order.
func recordApplies(env *testsuite.TestWorkflowEnvironment) *[]string {
	applied := &[]string{}
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, d clerk.Delivery) (store.ApplyResult, error) {
			*applied = append(*applied, d.SvixID)
			return store.ApplyResult{Changed: true}, nil
		})
	return applied
}

func delivery(id string) clerk.Delivery {
	return clerk.Delivery{SvixID: id, Type: clerk.UserUpdated, EntityID: "user_1", Data: []byte(`{"id":"user_1"}`)}
}

func TestSyncUserAppliesThenPushesOnce(t *testing.T) {
	env := newEnv(t)
	applied := recordApplies(env)
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1"}).Return(activities.PushResult{Outcome: "updated"}, nil).Once()

	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{
		EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1"), delivery("m2"), delivery("m3")},
	})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if fmt.Sprint(*applied) != "[m1 m2 m3]" {
		t.Fatalf("applied %v, want arrival order [m1 m2 m3]", *applied)
	}
}

func TestSyncUserSkipsPushWhenNothingChanged(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, mock.Anything).Return(store.ApplyResult{Duplicate: true}, nil).Twice()
	// No PushUser expectation: calling it would fail the test.
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{
		EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1"), delivery("m1")},
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

func TestSyncUserProcessesSignalsArrivingDuringPush(t *testing.T) {
	env := newEnv(t)
	applied := recordApplies(env)
	pushes := 0
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1"}).Return(
		func(_ context.Context, _ activities.PushRequest) (activities.PushResult, error) {
			pushes++
			if pushes == 1 {
				// A new event arrives while the first push runs.
				env.SignalWorkflow(workflows.ClerkEventSignal, delivery("m2"))
			}
			return activities.PushResult{Outcome: "updated"}, nil
		})
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1")}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*applied) != "[m1 m2]" || pushes != 2 {
		t.Fatalf("applied %v with %d pushes, want [m1 m2] and 2", *applied, pushes)
	}
}

func TestSyncUserSkipsUnusableEvent(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, delivery("bad")).Return(store.ApplyResult{},
		temporal.NewNonRetryableApplicationError("no id", activities.ErrTypeBadEvent, nil)).Once()
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, delivery("good")).Return(store.ApplyResult{Changed: true}, nil).Once()
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1"}).Return(activities.PushResult{Outcome: "updated"}, nil).Once()
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{
		EntityID: "user_1", Pending: []clerk.Delivery{delivery("bad"), delivery("good")},
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

func TestSyncOrgFailsWithIntercomMessageAndKeepsQueuedEvents(t *testing.T) {
	env := newEnv(t)
	applied := recordApplies(env)
	env.OnActivity(a.PushOrg, mock.Anything, activities.PushRequest{EntityID: "org_1"}).Return(
		func(_ context.Context, _ activities.PushRequest) (activities.PushResult, error) {
			env.SignalWorkflow(workflows.ClerkEventSignal, delivery("queued"))
			return activities.PushResult{}, temporal.NewNonRetryableApplicationError(
				"intercom POST /companies: 400 bad 'name' parameter", activities.ErrTypeClient, nil)
		}).Once()
	env.ExecuteWorkflow(workflows.SyncOrg, workflows.SyncInput{EntityID: "org_1", Pending: []clerk.Delivery{delivery("m1")}})
	err := env.GetWorkflowError()
	if err == nil {
		t.Fatal("workflow succeeded, want the Intercom failure")
	}
	if !hasApplicationErrorType(err, activities.ErrTypeClient) {
		t.Fatalf("err = %v, want the activity's %s in its chain", err, activities.ErrTypeClient)
	}
	if want := "bad 'name' parameter"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %q, want it to carry Intercom's message %q", err, want)
	}
	if fmt.Sprint(*applied) != "[m1 queued]" {
		t.Fatalf("applied %v, want the queued event recorded too", *applied)
	}
}

func TestSyncUserContinuesAsNewWhenHistoryGrows(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, mock.Anything).Return(store.ApplyResult{Changed: true}, nil)
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1"}).Return(
		func(_ context.Context, _ activities.PushRequest) (activities.PushResult, error) {
			// Keep the workflow busy: one new event per push.
			env.SignalWorkflow(workflows.ClerkEventSignal, delivery("again"))
			return activities.PushResult{Outcome: "updated"}, nil
		})
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1")}})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("err = %v, want continue-as-new", err)
	}
}

// hasApplicationErrorType walks the whole cause chain: the workflow wraps
// the activity's error with context.
func hasApplicationErrorType(err error, typ string) bool {
	for err != nil {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			return false
		}
		if appErr.Type() == typ {
			return true
		}
		err = appErr.Unwrap()
	}
	return false
}

// A resync signal pushes with Force even though no event changed anything.
func TestResyncSignalForcesAPush(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1", Force: true}).
		Return(activities.PushResult{Outcome: "updated"}, nil).Once()
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{EntityID: "user_1", Resync: true})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
}

// While the push retries (Intercom failing), an event signalled meanwhile
// is applied at once, not queued until the push ends; since it changed
// the database, another push follows.
func TestSyncUserAppliesEventsWhileThePushRetries(t *testing.T) {
	env := newEnv(t)
	var order []string
	env.OnActivity(a.ApplyClerkEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, d clerk.Delivery) (store.ApplyResult, error) {
			order = append(order, "apply "+d.SvixID)
			return store.ApplyResult{Changed: true}, nil
		})
	attempts := 0
	env.OnActivity(a.PushUser, mock.Anything, activities.PushRequest{EntityID: "user_1"}).Return(
		func(_ context.Context, _ activities.PushRequest) (activities.PushResult, error) {
			attempts++
			order = append(order, fmt.Sprintf("push %d", attempts))
			switch attempts {
			case 1:
				env.SignalWorkflow(workflows.ClerkEventSignal, delivery("m2"))
				fallthrough
			case 2:
				return activities.PushResult{}, temporal.NewApplicationError("intercom: 500", activities.ErrTypeServer)
			}
			return activities.PushResult{Outcome: "updated"}, nil
		})
	env.ExecuteWorkflow(workflows.SyncUser, workflows.SyncInput{EntityID: "user_1", Pending: []clerk.Delivery{delivery("m1")}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if want := "[apply m1 push 1 apply m2 push 2 push 3 push 4]"; fmt.Sprint(order) != want {
		t.Fatalf("order %v, want %s", order, want)
	}
}
