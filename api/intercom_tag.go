package api

import (
	"context"
	"net/http"

	"github.com/sirupsen/logrus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// startTagResync handles conversation_part.tag.created: when the added tag
// is the re-sync tag, it starts TagResync for the conversation; any other
// tag is acknowledged and ignored (agents tag conversations all day).
func (h *IntercomHandler) startTagResync(w http.ResponseWriter, r *http.Request, n intercom.Notification, fields logrus.Fields) {
	conv, err := intercom.ParseTaggedConversation(n.Data.Item)
	if err != nil {
		h.log.WithFields(fields).Warnf("Rejected Intercom webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	fields["conversation_id"] = logSafeID(string(conv.ID))
	if msg := checkEntityID("the conversation id", string(conv.ID)); conv.ID != "" && msg != "" {
		h.log.WithFields(fields).Warnf("Rejected Intercom webhook: %s", msg)
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	tag, ok := conv.AddedTag(h.resyncTag)
	if !ok {
		h.log.WithFields(fields).Info("Ignored Intercom tag notification: not the re-sync tag")
		writeJSON(w, http.StatusOK, received)
		return
	}
	fields["tag"], fields["tag_id"] = tag.Name, string(tag.ID)

	in := workflows.TagResyncInput{
		NotificationID: string(n.ID), Topic: n.Topic, ConversationID: string(conv.ID),
		TagID: string(tag.ID), TagName: tag.Name,
		// No member number from the body: anyone holding the secret could
		// claim one, and the attribute may have changed since. The
		// workflow reads it from the conversation in Intercom.
		IntercomTaskQueue: h.queues.Intercom,
	}
	wfID := workflows.TagResyncWorkflowID(in.ConversationID)
	fields["workflow_id"] = wfID
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	// USE_EXISTING: a notification arriving while the conversation's
	// re-sync runs joins it. A finished run's ID may be reused: the agent
	// re-tags to retry, and a redelivery is dropped by the run's claim.
	_, err = h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wfID,
		TaskQueue:                h.queues.Workflows,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(searchattr.SyncKind.ValueSet("tag-resync")),
		StaticSummary:            "Re-sync the member of Intercom conversation " + in.ConversationID + " (tag " + tag.Name + ")",
	}, workflows.TagResync, in)
	if err != nil {
		h.log.WithFields(fields).Errorf("Could not hand Intercom notification to Temporal: %v", err)
		writeError(w, http.StatusServiceUnavailable, "notification could not be recorded; retry later")
		return
	}
	h.log.WithFields(fields).Info("Accepted Intercom notification")
	writeJSON(w, http.StatusOK, received)
}
