package workflows_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/workflows"
)

var enrichIn = workflows.EnrichInput{
	NotificationID: "notif_1", Topic: "conversation.user.replied", ContactID: "contact_1", ConversationID: "conv_1",
	IntercomTaskQueue: "q-intercom",
}

func TestEnrichConversationClaimsThenEnriches(t *testing.T) {
	env := newEnv(t)
	var claimed activities.Notification
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(
		func(_ context.Context, n activities.Notification) (bool, error) {
			claimed = n
			return true, nil
		}).Once()
	var queue string
	env.OnActivity(a.EnrichContact, mock.Anything, "contact_1").Return(
		func(ctx context.Context, id string) (activities.EnrichResult, error) {
			queue = activity.GetInfo(ctx).TaskQueue
			return activities.EnrichResult{ContactID: id, Outcome: activities.EnrichEnriched, MemberNumber: "100001"}, nil
		}).Once()
	env.ExecuteWorkflow(workflows.EnrichConversation, enrichIn)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res activities.EnrichResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != activities.EnrichEnriched || res.MemberNumber != "100001" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if claimed.ID != "notif_1" || claimed.ContactID != "contact_1" || claimed.Topic != enrichIn.Topic || claimed.RunID == "" {
		t.Fatalf("claimed %+v: want the notification and this run's id", claimed)
	}
	if queue != "q-intercom" {
		t.Fatalf("EnrichContact ran on %q, want the Intercom task queue", queue)
	}
}

// A redelivered notification stops after the claim: no Intercom activity.
func TestEnrichConversationStopsOnDuplicate(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(false, nil).Once()
	env.OnActivity(a.EnrichContact, mock.Anything, mock.Anything).Return(activities.EnrichResult{}, nil).Never()
	env.ExecuteWorkflow(workflows.EnrichConversation, enrichIn)
	var res activities.EnrichResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != activities.EnrichDuplicate {
		t.Fatalf("result %+v, %v; want duplicate", res, err)
	}
}

// A database outage during the claim is retried, not fatal.
func TestEnrichConversationRetriesTheClaim(t *testing.T) {
	env := newEnv(t)
	calls := 0
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.Notification) (bool, error) {
			calls++
			if calls < 3 {
				return false, temporal.NewApplicationError("connection refused", "")
			}
			return true, nil
		})
	env.OnActivity(a.EnrichContact, mock.Anything, "contact_1").
		Return(activities.EnrichResult{ContactID: "contact_1", Outcome: activities.EnrichNotFound}, nil).Once()
	env.ExecuteWorkflow(workflows.EnrichConversation, enrichIn)
	var res activities.EnrichResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != activities.EnrichNotFound || calls != 3 {
		t.Fatalf("result %+v, %v after %d claims", res, err, calls)
	}
}

// A 4xx from Intercom fails the run with Intercom's message.
func TestEnrichConversationFailsWithIntercomMessage(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.ClaimNotification, mock.Anything, mock.Anything).Return(true, nil).Once()
	env.OnActivity(a.EnrichContact, mock.Anything, "contact_1").Return(activities.EnrichResult{},
		temporal.NewNonRetryableApplicationError("intercom PUT /contacts/{id}: 400 Email address is invalid",
			activities.ErrTypeClient, nil)).Once()
	env.ExecuteWorkflow(workflows.EnrichConversation, enrichIn)
	err := env.GetWorkflowError()
	if err == nil || !hasApplicationErrorType(err, activities.ErrTypeClient) || !strings.Contains(err.Error(), "Email address is invalid") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnrichWorkflowID(t *testing.T) {
	if got := workflows.EnrichWorkflowID("6762f0a51bb69f9f2193bb7e"); got != "enrich/6762f0a51bb69f9f2193bb7e" {
		t.Fatal(got)
	}
}
