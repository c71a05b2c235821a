package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// WorkflowStarter is the part of the Temporal client the Intercom webhook
// uses.
type WorkflowStarter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow interface{},
		args ...interface{}) (client.WorkflowRun, error)
}

// IntercomHandler receives Intercom webhooks (POST /api/intercom/webhook).
type IntercomHandler struct {
	secret    []byte // empty: not configured, every request is answered 503
	temporal  WorkflowStarter
	queues    Queues
	timeout   time.Duration
	log       logrus.FieldLogger
	resyncTag string
	metrics   *metrics.Metrics // nil: nothing is counted
}

// IntercomOption configures an IntercomHandler.
type IntercomOption func(*IntercomHandler)

// WithResyncTag sets the conversation tag (RESYNC_TAG) that starts a
// tag-based re-sync; the default is workflows.DefaultResyncTag.
func WithResyncTag(tag string) IntercomOption {
	return func(h *IntercomHandler) { h.resyncTag = tag }
}

// WithMetrics counts, in m, what the handler acknowledges but ignores:
// notifications of an unsupported API version
// (intercom_sync_intercom_notifications_unsupported_total{topic}).
func WithMetrics(m *metrics.Metrics) IntercomOption {
	return func(h *IntercomHandler) { h.metrics = m }
}

// NewIntercomHandler verifies X-Hub-Signature with secret, the Intercom
// app's client secret: an unsigned or wrongly signed request is 401,
// whatever the environment. Without a secret the handler fails closed:
// every request is answered 503 {"error":"INTERCOM_WEBHOOK_SECRET not
// configured"}, never 2xx.
func NewIntercomHandler(secret string, t WorkflowStarter, q Queues, timeout time.Duration,
	log logrus.FieldLogger, opts ...IntercomOption) (*IntercomHandler, error) {
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	h := &IntercomHandler{secret: []byte(secret), temporal: t, queues: q,
		timeout: timeout, log: log, resyncTag: workflows.DefaultResyncTag}
	for _, o := range opts {
		o(h)
	}
	if strings.TrimSpace(h.resyncTag) == "" {
		return nil, errors.New("the re-sync tag (RESYNC_TAG) must not be empty")
	}
	return h, nil
}

// received is the answer to every accepted or ignored notification.
var received = map[string]bool{"received": true}

// unsupportedVersion is the answer to a notification whose payload is of
// an API version the service does not read.
var unsupportedVersion = map[string]any{"received": true, "ignored": true,
	"reason": "unsupported payload version: the Intercom app's webhooks must use API 2.x"}

func (h *IntercomHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fields := logrus.Fields{"source": "intercom"}
	if len(h.secret) == 0 {
		h.log.WithFields(fields).Warn("Rejected Intercom webhook: INTERCOM_WEBHOOK_SECRET is not configured")
		writeNotConfigured(w, "INTERCOM_WEBHOOK_SECRET")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		h.log.WithFields(fields).Warn("Rejected Intercom webhook: unreadable or oversized body")
		return
	}
	// Verify the raw bytes before parsing: Intercom signs the body exactly
	// as sent, and unsigned input must not reach the parser.
	if err := h.verify(body, r.Header.Get(intercom.SignatureHeader)); err != nil {
		h.log.WithFields(fields).Warnf("Rejected Intercom webhook: %v", err)
		writeError(w, http.StatusUnauthorized, "invalid or missing X-Hub-Signature")
		return
	}
	n, err := intercom.ParseNotification(body)
	if err != nil {
		h.log.WithFields(fields).Warnf("Rejected Intercom webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	fields["notification_id"], fields["topic"] = string(n.ID), n.Topic
	switch n.Topic {
	case intercom.TopicConversationUserCreated, intercom.TopicConversationUserReplied,
		intercom.TopicConversationPartTagCreated:
	case intercom.TopicPing:
		h.log.WithFields(fields).Info("Intercom webhook ping received")
		writeJSON(w, http.StatusOK, received)
		return
	default:
		h.log.WithFields(fields).Info("Ignored Intercom notification of unhandled topic")
		writeJSON(w, http.StatusOK, received)
		return
	}

	if n.ID == "" {
		// The id is the deduplication key: without it a redelivery could
		// not be told from a new message.
		h.log.WithFields(fields).Warn("Rejected Intercom webhook: notification has no id")
		writeError(w, http.StatusBadRequest, "notification has no id")
		return
	}
	if n.Topic == intercom.TopicConversationPartTagCreated {
		h.startTagResync(w, r, n, fields)
		return
	}
	conv, err := intercom.ParseConversationItem(n.Data.Item)
	if err != nil {
		h.log.WithFields(fields).Warnf("Rejected Intercom webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if conv.UnsupportedVersion() {
		// Acknowledged, or Intercom would redeliver what can never be
		// read; counted so that a misconfigured app does not go unseen.
		// Only the topic and notification id are logged, never the item.
		if h.metrics != nil {
			h.metrics.IntercomNotificationsUnsupported.WithLabelValues(n.Topic).Inc()
		}
		h.log.WithFields(fields).Warn("Ignored Intercom notification: payload is not of API version 2.x (item has neither source nor contacts)")
		writeJSON(w, http.StatusOK, unsupportedVersion)
		return
	}
	contactID := conv.ContactID()
	fields["conversation_id"], fields["contact_id"] = logSafeID(string(conv.ID)), logSafeID(contactID)
	if contactID == "" {
		// Well-formed, but about no contact (e.g. only an admin in it):
		// nothing to enrich, and a redelivery would not change that.
		h.log.WithFields(fields).Warn("No contact ID found in conversation; ignored")
		writeJSON(w, http.StatusOK, received)
		return
	}

	if msg := checkEntityID("the contact id", contactID); msg != "" {
		h.log.WithFields(fields).Warnf("Rejected Intercom webhook: %s", msg)
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	wfID := workflows.EnrichWorkflowID(contactID)
	fields["workflow_id"] = wfID
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	// USE_EXISTING: while a run for this contact is going, further
	// notifications join it, so a burst of replies enriches once. A finished
	// run's ID may be reused: a new message after it starts a new run, and
	// that run's first step drops it if its notification id was seen.
	_, err = h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       wfID,
		TaskQueue:                h.queues.Workflows,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.SyncKind.ValueSet("enrich"),
			searchattr.IntercomContactID.ValueSet(contactID)),
		StaticSummary: "Enrich Intercom contact " + contactID + " from the member database",
	}, workflows.EnrichConversation, workflows.EnrichInput{
		NotificationID: string(n.ID), Topic: n.Topic, ContactID: contactID, ConversationID: string(conv.ID),
		IntercomTaskQueue: h.queues.Intercom,
	})
	if err != nil {
		h.log.WithFields(fields).Errorf("Could not hand Intercom notification to Temporal: %v", err)
		writeError(w, http.StatusServiceUnavailable, "notification could not be recorded; retry later")
		return
	}
	h.log.WithFields(fields).Info("Accepted Intercom notification")
	writeJSON(w, http.StatusOK, received)
}

func (h *IntercomHandler) verify(body []byte, header string) error {
	if header == "" {
		return errors.New("no X-Hub-Signature")
	}
	return intercom.VerifySignature(h.secret, body, header)
}
