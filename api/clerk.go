package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
	svix "github.com/svix/svix-webhooks/go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// Starter is the part of the Temporal client the handlers use.
type Starter interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg interface{},
		options client.StartWorkflowOptions, workflow interface{}, workflowArgs ...interface{}) (client.WorkflowRun, error)
}

// ClerkHandler receives Clerk webhooks (POST /webhooks/clerk).
type ClerkHandler struct {
	verifier *svix.Webhook
	temporal Starter
	queues   Queues
	timeout  time.Duration
	log      logrus.FieldLogger
	now      func() time.Time // the clock the timestamp tolerance uses
}

// SignatureTolerance is how far svix-timestamp may be from now (Svix's
// own rule): older deliveries are replays, newer ones forgeries.
const SignatureTolerance = 5 * time.Minute

// Queues names the task queues workflows run on.
type Queues struct {
	Workflows string // TEMPORAL_TASK_QUEUE
	Intercom  string // INTERCOM_TASK_QUEUE
}

// DefaultStartTimeout bounds how long a webhook waits for Temporal before
// answering 503, well inside Svix's delivery timeout.
const DefaultStartTimeout = 5 * time.Second

// NewClerkHandler verifies deliveries with secret (whsec_…).
func NewClerkHandler(secret string, t Starter, q Queues, timeout time.Duration, log logrus.FieldLogger) (*ClerkHandler, error) {
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		return nil, errors.New("CLERK_WEBHOOK_SECRET is not a valid whsec_ secret")
	}
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	return &ClerkHandler{verifier: wh, temporal: t, queues: q, timeout: timeout, log: log, now: time.Now}, nil
}

// verify checks the timestamp against our clock, then the signatures
// (several during secret rotation; any v1 match is enough) over the raw
// body. Svix's Verify does the same with the wall clock; doing the
// timestamp here keeps the tolerance testable.
func (h *ClerkHandler) verify(body []byte, hdr http.Header) error {
	raw := hdr.Get("svix-timestamp")
	if raw == "" {
		raw = hdr.Get("webhook-timestamp")
	}
	secs, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return errors.New("missing or malformed svix-timestamp")
	}
	if d := h.now().Sub(time.Unix(secs, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("svix-timestamp is %s away from now", d.Round(time.Second))
	}
	return h.verifier.VerifyIgnoringTimestamp(body, hdr)
}

func (h *ClerkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		h.log.WithField("source", "clerk").Warn("Rejected Clerk webhook: unreadable or oversized body")
		return
	}
	// Verify the raw bytes before parsing anything: Svix signs the body
	// exactly as sent, and unsigned input must not reach the parser.
	if err := h.verify(body, r.Header); err != nil {
		h.log.WithFields(logrus.Fields{"source": "clerk", "svix_id": svixID(r)}).
			Warnf("Rejected Clerk webhook: %v", err)
		writeError(w, http.StatusUnauthorized, "invalid or missing Svix signature")
		return
	}
	env, err := clerk.ParseEnvelope(body)
	if err != nil {
		h.log.WithFields(logrus.Fields{"source": "clerk", "svix_id": svixID(r)}).Warnf("Rejected Clerk webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kind, entityID, err := clerk.Route(env)
	fields := logrus.Fields{"source": "clerk", "svix_id": svixID(r), "event": env.Type, "entity_id": entityID}
	if errors.Is(err, clerk.ErrUnknownType) {
		h.log.WithFields(fields).Info("Ignored Clerk event of unhandled type")
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored", "reason": "unhandled event type " + env.Type})
		return
	}
	if err != nil {
		h.log.WithFields(fields).Warnf("Rejected Clerk webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	d := clerk.Delivery{SvixID: svixID(r), Type: env.Type, EntityID: entityID, Data: env.Data}
	// Search attributes and a summary make the sync findable in the
	// Temporal UI ("every sync of this user").
	wfID, wf, wfType := workflows.UserWorkflowID(entityID), any(workflows.SyncUser), workflows.SyncUserWorkflow
	attrs := temporal.NewSearchAttributes(searchattr.SyncKind.ValueSet(entity.User.SearchValue()), searchattr.ClerkUserID.ValueSet(entityID))
	summary := "Sync Clerk user " + entityID + " to Intercom"
	switch kind {
	case entity.Organization:
		wfID, wf, wfType = workflows.OrgWorkflowID(entityID), any(workflows.SyncOrg), workflows.SyncOrgWorkflow
		attrs = temporal.NewSearchAttributes(searchattr.SyncKind.ValueSet(entity.Organization.SearchValue()), searchattr.ClerkOrgID.ValueSet(entityID))
		summary = "Sync Clerk organization " + entityID + " to Intercom"
	case entity.Invitation:
		wfID, wf, wfType = workflows.InviteWorkflowID(entityID), any(workflows.InviteContact), workflows.InviteContactWorkflow
		attrs = temporal.NewSearchAttributes(searchattr.SyncKind.ValueSet(entity.Invitation.SearchValue()), searchattr.ClerkInvitationID.ValueSet(entityID))
		summary = "Sync Clerk invitation " + entityID + " to Intercom"
	}
	fields["workflow_id"] = wfID
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	// Signal-with-start serializes every event of one entity through one
	// workflow: started if idle, signalled if running.
	_, err = h.temporal.SignalWithStartWorkflow(ctx, wfID, workflows.ClerkEventSignal, d,
		client.StartWorkflowOptions{ID: wfID, TaskQueue: h.queues.Workflows, TypedSearchAttributes: attrs, StaticSummary: summary},
		wf, workflows.SyncInput{EntityID: entityID, IntercomTaskQueue: h.queues.Intercom})
	if err != nil {
		h.log.WithFields(fields).Errorf("Could not hand Clerk event to Temporal: %v", err)
		writeError(w, http.StatusServiceUnavailable, "event could not be recorded; retry later")
		return
	}
	h.log.WithFields(fields).Info("Accepted Clerk event")
	writeJSON(w, http.StatusOK, map[string]string{"status": "accepted", "workflow_id": wfID, "workflow_type": wfType})
}

// svixID is the delivery's idempotency key; Svix also sends it as webhook-id.
func svixID(r *http.Request) string {
	if id := r.Header.Get("svix-id"); id != "" {
		return id
	}
	return r.Header.Get("webhook-id")
}
