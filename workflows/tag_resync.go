package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
)

// TagResyncWorkflow is the workflow type the Intercom webhook starts when
// an agent tags a conversation with RESYNC_TAG.
const TagResyncWorkflow = "TagResync"

// DefaultResyncTag is RESYNC_TAG's default, the tag support agents use.
const DefaultResyncTag = "mynatca-sync"

// TagResyncWorkflowID is the one workflow ID of a conversation's re-syncs.
// The webhook starts it with the USE_EXISTING conflict policy: a
// notification delivered while a run is going joins that run.
func TagResyncWorkflowID(conversationID string) string { return "tag-resync/" + conversationID }

// rereadMemberNumberChange is the workflow.GetVersion change id of
// reading the member number from Intercom on every run.
const rereadMemberNumberChange = "reread-member-number"

// TagResyncInput starts TagResync.
type TagResyncInput struct {
	NotificationID string `json:"notification_id"`
	Topic          string `json:"topic"`
	ConversationID string `json:"conversation_id"`
	// TagID is "" when the notification named the tag without its id.
	TagID   string `json:"tag_id,omitempty"`
	TagName string `json:"tag_name"`
	// AttributesSent and MemberNumber are what the notification said.
	// Only runs started before the member number was re-read from
	// Intercom (rereadMemberNumberChange) use them, and the webhook no
	// longer fills them in; they stay for those runs' inputs.
	AttributesSent bool   `json:"attributes_sent"`
	MemberNumber   string `json:"member_number,omitempty"`
	// IntercomTaskQueue is where Intercom activities run; empty means
	// "<this workflow's task queue>-intercom".
	IntercomTaskQueue string `json:"intercom_task_queue,omitempty"`
}

// TagResyncResult is what a re-sync did, shown in the Temporal UI.
type TagResyncResult struct {
	ConversationID string                   `json:"conversation_id"`
	Outcome        activities.ResyncOutcome `json:"outcome"`
	MemberNumber   string                   `json:"member_number,omitempty"`
	ContactID      string                   `json:"contact_id,omitempty"`
	Contact        activities.ContactOrigin `json:"contact,omitempty"`
	MergedLeads    []string                 `json:"merged_leads,omitempty"`
	ArchivedUsers  []string                 `json:"archived_users,omitempty"`
	Tag            activities.StepOutcome   `json:"tag,omitempty"` // removed, already_done
}

// TagResync creates or updates the member's user contact from the member
// number an agent put on the conversation, folds the member's duplicate
// contacts into it and removes the tag. Steps, each recorded so a failure
// resumes at the step that failed:
//
//  1. claim the notification id (local activity): a redelivery stops here;
//  2. the member number: read from the conversation in Intercom (Intercom
//     queue), never taken from the notification; one that is not 1 to 20
//     digits stops the run (invalid_member_number);
//  3. the member (local activity: member database);
//  4. the plan: which contact survives, made or converted if needed, and
//     which leads to merge and users to archive (Intercom queue);
//  5. merge each lead, archive each duplicate user, update the survivor;
//  6. remove the tag — last, so on any failure before it the tag stays
//     and the agent can retry; the failure says which step failed and why.
func TagResync(ctx workflow.Context, in TagResyncInput) (TagResyncResult, error) {
	if err := label(ctx, "Re-sync the member of Intercom conversation "+in.ConversationID,
		keyword{searchattr.SyncKind, "tag-resync"}); err != nil {
		return TagResyncResult{ConversationID: in.ConversationID}, err
	}
	logger := workflow.GetLogger(ctx)
	dbCtx := workflow.WithLocalActivityOptions(ctx, databaseActivityOptions())
	icCtx := workflow.WithActivityOptions(ctx, intercomActivityOptions(ctx, in.IntercomTaskQueue))
	res := TagResyncResult{ConversationID: in.ConversationID}
	fail := func(step string, err error) (TagResyncResult, error) {
		logger.Error("Tag-based sync failed", "conversation_id", in.ConversationID, "member_number", res.MemberNumber,
			"step", step, "error", err)
		return res, fmt.Errorf("tag-based sync of conversation %s: %s: %w", in.ConversationID, step, err)
	}

	n := activities.Notification{
		ID: in.NotificationID, Topic: in.Topic, ConversationID: in.ConversationID,
		RunID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
	}
	var first bool
	if err := workflow.ExecuteLocalActivity(dbCtx, a.ClaimNotification, n).Get(ctx, &first); err != nil {
		return fail("record notification "+in.NotificationID, err)
	}
	if !first {
		logger.Info("Duplicate Intercom notification; nothing to do",
			"notification_id", in.NotificationID, "conversation_id", in.ConversationID)
		res.Outcome = activities.ResyncDuplicate
		return res, nil
	}

	number := in.MemberNumber
	// Runs of version rereadMemberNumberChange read the member number from
	// the conversation in Intercom whatever the notification carried: a
	// webhook body is not trusted with it. Older runs replay as they were.
	reread := workflow.GetVersion(ctx, rereadMemberNumberChange, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	if reread || !in.AttributesSent {
		var conv activities.ResyncConversation
		if err := workflow.ExecuteActivity(icCtx, a.ReadResyncConversation, in.ConversationID).Get(ctx, &conv); err != nil {
			return fail("read conversation", err)
		}
		if !conv.Found {
			logger.Warn("Conversation not found in Intercom", "conversation_id", in.ConversationID)
			res.Outcome = activities.ResyncConversationNotFound
			return res, nil
		}
		if conv.InvalidMemberNumber {
			// Not a retry: the agent corrects the attribute and tags again.
			logger.Warn("Member number in conversation attributes is not a member number; skipped",
				"conversation_id", in.ConversationID)
			res.Outcome = activities.ResyncInvalidMemberNumber
			return res, nil
		}
		number = conv.MemberNumber
	}
	if number == "" {
		logger.Warn("No member number found in conversation attributes", "conversation_id", in.ConversationID)
		res.Outcome = activities.ResyncNoMemberNumber
		return res, nil
	}
	res.MemberNumber = number
	logger.Info("Processing tag-based sync for conversation",
		"conversation_id", in.ConversationID, "tag", in.TagName, "member_number", number)

	var member activities.MemberLookup
	if err := workflow.ExecuteLocalActivity(dbCtx, a.LookupResyncMember, number).Get(ctx, &member); err != nil {
		return fail("look up member "+number, err)
	}
	if !member.Found {
		logger.Info("Member not found for tag-based sync", "member_number", number, "conversation_id", in.ConversationID)
		res.Outcome = activities.ResyncMemberNotFound
		return res, nil
	}
	if !member.HasEmail {
		logger.Warn("Member has no email; no contact to sync", "member_number", number, "conversation_id", in.ConversationID)
		res.Outcome = activities.ResyncMemberNoEmail
		return res, nil
	}
	res.MemberNumber = member.MemberNumber

	req := activities.ResyncContactRequest{MemberNumber: member.MemberNumber, ConversationID: in.ConversationID}
	var plan activities.ResyncPlan
	if err := workflow.ExecuteActivity(icCtx, a.PrepareResyncContact, req).Get(ctx, &plan); err != nil {
		return fail("prepare contact", err)
	}
	if plan.Outcome != activities.ResyncReady {
		// The member changed in the member database since the lookup.
		logger.Info("Member not usable for tag-based sync", "member_number", number, "conversation_id", in.ConversationID,
			"outcome", plan.Outcome)
		res.Outcome = plan.Outcome
		return res, nil
	}
	res.ContactID, res.Contact = plan.ContactID, plan.How
	// So "what wrote this contact" (IntercomContactID = …) finds re-syncs too.
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.IntercomContactID.ValueSet(plan.ContactID)); err != nil {
		return fail("record contact id", err)
	}

	for _, lead := range plan.MergeLeads {
		var done activities.StepOutcome
		mr := activities.MergeRequest{From: lead, Into: plan.ContactID}
		if err := workflow.ExecuteActivity(icCtx, a.MergeLeadIntoUser, mr).Get(ctx, &done); err != nil {
			return fail(fmt.Sprintf("merge lead %s into user %s", lead, plan.ContactID), err)
		}
		res.MergedLeads = append(res.MergedLeads, lead)
	}
	for _, user := range plan.ArchiveUsers {
		var done activities.StepOutcome
		if err := workflow.ExecuteActivity(icCtx, a.ArchiveDuplicateUser, user).Get(ctx, &done); err != nil {
			return fail("archive duplicate user "+user, err)
		}
		res.ArchivedUsers = append(res.ArchivedUsers, user)
	}
	// The data written while making the contact is the latest, unless
	// merging brought in attributes of the leads.
	if !plan.FieldsWritten || len(plan.MergeLeads) > 0 {
		req.ContactID = plan.ContactID
		var outcome activities.ResyncOutcome
		if err := workflow.ExecuteActivity(icCtx, a.UpdateResyncContact, req).Get(ctx, &outcome); err != nil {
			return fail("update contact "+plan.ContactID, err)
		}
		if outcome != activities.ResyncReady {
			logger.Info("Member not usable for tag-based sync", "member_number", number, "conversation_id", in.ConversationID,
				"outcome", outcome)
			res.Outcome = outcome
			return res, nil
		}
	}
	logger.Info("Updated Intercom contact from tag-based sync", "contact_id", plan.ContactID,
		"member_number", res.MemberNumber, "conversation_id", in.ConversationID, "contact", plan.How,
		"merged_leads", len(res.MergedLeads), "archived_users", len(res.ArchivedUsers))

	untag := activities.UntagRequest{ConversationID: in.ConversationID, TagID: in.TagID, TagName: in.TagName}
	if err := workflow.ExecuteActivity(icCtx, a.RemoveConversationTag, untag).Get(ctx, &res.Tag); err != nil {
		return fail("remove tag "+in.TagName, err)
	}
	logger.Info("Removed "+in.TagName+" tag from conversation", "conversation_id", in.ConversationID, "outcome", res.Tag)
	res.Outcome = activities.ResyncSynced
	return res, nil
}
