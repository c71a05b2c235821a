package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
)

// EnrichConversationWorkflow is the workflow type the Intercom webhook
// starts for conversation.user.created and conversation.user.replied.
const EnrichConversationWorkflow = "EnrichConversation"

// EnrichWorkflowID is the one workflow ID of a contact's enrichments. The
// webhook starts it with the USE_EXISTING conflict policy, so a burst of
// replies while a run is going joins that run instead of starting more.
func EnrichWorkflowID(contactID string) string { return "enrich/" + contactID }

// EnrichInput starts EnrichConversation.
type EnrichInput struct {
	NotificationID string `json:"notification_id"`
	Topic          string `json:"topic"`
	ContactID      string `json:"contact_id"`
	ConversationID string `json:"conversation_id,omitempty"`
	// IntercomTaskQueue is where Intercom activities run; empty means
	// "<this workflow's task queue>-intercom".
	IntercomTaskQueue string `json:"intercom_task_queue,omitempty"`
}

// EnrichConversation enriches the Intercom contact who wrote to support
// with their member data. It first claims the notification id in the app
// database (a local activity, like every database write), so a
// redelivered notification stops there, having written nothing to
// Intercom; then one activity on the Intercom queue does the lookup and
// the write (see activities.EnrichContact).
func EnrichConversation(ctx workflow.Context, in EnrichInput) (activities.EnrichResult, error) {
	if err := label(ctx, "Enrich Intercom contact "+in.ContactID+" from the member database",
		keyword{searchattr.SyncKind, "enrich"}, keyword{searchattr.IntercomContactID, in.ContactID}); err != nil {
		return activities.EnrichResult{}, err
	}
	logger := workflow.GetLogger(ctx)
	dbCtx := workflow.WithLocalActivityOptions(ctx, databaseActivityOptions())
	icCtx := workflow.WithActivityOptions(ctx, intercomActivityOptions(ctx, in.IntercomTaskQueue))

	n := activities.Notification{
		ID: in.NotificationID, Topic: in.Topic, ContactID: in.ContactID, ConversationID: in.ConversationID,
		RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
	}
	var first bool
	if err := workflow.ExecuteLocalActivity(dbCtx, a.ClaimNotification, n).Get(ctx, &first); err != nil {
		return activities.EnrichResult{}, fmt.Errorf("record notification %s: %w", in.NotificationID, err)
	}
	if !first {
		logger.Info("Duplicate Intercom notification; nothing to do",
			"notification_id", in.NotificationID, "contact_id", in.ContactID)
		return activities.EnrichResult{ContactID: in.ContactID, Outcome: activities.EnrichDuplicate}, nil
	}
	var res activities.EnrichResult
	if err := workflow.ExecuteActivity(icCtx, a.EnrichContact, in.ContactID).Get(ctx, &res); err != nil {
		logger.Error(fmt.Sprintf("Failed to enrich Intercom contact %s: %v", in.ContactID, err),
			"notification_id", in.NotificationID, "contact_id", in.ContactID)
		return res, fmt.Errorf("enrich contact %s: %w", in.ContactID, err)
	}
	logger.Info("Enrichment finished", "notification_id", in.NotificationID, "contact_id", in.ContactID,
		"outcome", res.Outcome, "member_number", res.MemberNumber)
	return res, nil
}
