package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/entity"
)

// InviteContactWorkflow is the workflow type of an invitation's sync.
const InviteContactWorkflow = "InviteContact"

// InviteWorkflowID is the one workflow ID of an invitation's syncs.
func InviteWorkflowID(invitationID string) string { return "invite/" + invitationID }

// InviteContact applies an invitation's events (created, accepted,
// revoked) and keeps its invited contact in Intercom: created while the
// invitation is pending, deleted when revoked. When the invited person is
// a user (accepted, or signed up with the invited email), it asks that
// user's SyncUser to run: the user's contact takes the invited one over,
// so one person never ends up with two contacts.
func InviteContact(ctx workflow.Context, in SyncInput) (SyncResult, error) {
	record := recordContact()
	return runEntitySync(ctx, in, InviteContact, a.PushInvitation, entity.Invitation,
		func(ctx workflow.Context, res activities.PushResult) error {
			if err := record(ctx, res); err != nil {
				return err
			}
			if res.RefreshUser == "" {
				return nil
			}
			queue := workflow.GetInfo(ctx).TaskQueueName
			intercomQueue := in.IntercomTaskQueue
			if intercomQueue == "" {
				intercomQueue = IntercomQueueFor(queue)
			}
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 30 * time.Second,
				RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
			})
			return workflow.ExecuteActivity(actx, a.SignalWorkflow, activities.SignalRequest{
				WorkflowID:   UserWorkflowID(res.RefreshUser),
				WorkflowType: SyncUserWorkflow,
				TaskQueue:    queue,
				Signal:       RefreshSignal,
				Input:        SyncInput{EntityID: res.RefreshUser, IntercomTaskQueue: intercomQueue},
			}).Get(ctx, nil)
		})
}
