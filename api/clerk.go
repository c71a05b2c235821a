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

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/entity"
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

// svixHeaders is one complete set of Svix's signature headers: either
// svix-id/-timestamp/-signature or, as Svix also sends them,
// webhook-id/-timestamp/-signature. The timestamp check, the signature
// check and the deduplication id all come from the same set, so a
// delivery cannot be verified with one set and dated or deduplicated with
// the other.
type svixHeaders struct {
	prefix                   string // "svix-" or "webhook-"
	id, timestamp, signature string
}

// errNoHeaderSet is the answer when neither set is complete.
var errNoHeaderSet = errors.New("neither svix-id, svix-timestamp and svix-signature nor webhook-id, webhook-timestamp and webhook-signature are all present once")

// svixHeaderSet chooses the set: all three svix-* headers present (each
// once) → that set; else all three webhook-* → that one; else none.
func svixHeaderSet(hdr http.Header) (svixHeaders, bool) {
	for _, prefix := range []string{"svix-", "webhook-"} {
		set := svixHeaders{prefix: prefix}
		complete := true
		for _, f := range []struct {
			name string
			dst  *string
		}{{"id", &set.id}, {"timestamp", &set.timestamp}, {"signature", &set.signature}} {
			vs := hdr.Values(prefix + f.name)
			if len(vs) != 1 || vs[0] == "" {
				complete = false
				break
			}
			*f.dst = vs[0]
		}
		if complete {
			return set, true
		}
	}
	return svixHeaders{}, false
}

// header is the set alone, as the Svix library reads it: given nothing
// else, the library cannot fall back to the other set.
func (s svixHeaders) header() http.Header {
	h := http.Header{}
	h.Set(s.prefix+"id", s.id)
	h.Set(s.prefix+"timestamp", s.timestamp)
	h.Set(s.prefix+"signature", s.signature)
	return h
}

// verify chooses the header set, checks its timestamp against our clock,
// then its signatures (several during secret rotation; any v1 match is
// enough) over the raw body, passing the library that set only. Svix's
// Verify does the same with the wall clock; doing the timestamp here
// keeps the tolerance testable. It returns the set, whose id is the
// delivery's deduplication key.
func (h *ClerkHandler) verify(body []byte, hdr http.Header) (svixHeaders, error) {
	set, ok := svixHeaderSet(hdr)
	if !ok {
		return svixHeaders{}, errNoHeaderSet
	}
	secs, err := strconv.ParseInt(set.timestamp, 10, 64)
	if err != nil {
		return set, fmt.Errorf("malformed %stimestamp", set.prefix)
	}
	if d := h.now().Sub(time.Unix(secs, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return set, fmt.Errorf("%stimestamp is %s away from now", set.prefix, d.Round(time.Second))
	}
	if err := h.verifier.VerifyIgnoringTimestamp(body, set.header()); err != nil {
		return set, fmt.Errorf("%ssignature: %w", set.prefix, err)
	}
	return set, nil
}

func (h *ClerkHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		h.log.WithField("source", "clerk").Warn("Rejected Clerk webhook: unreadable or oversized body")
		return
	}
	// Verify the raw bytes before parsing anything: Svix signs the body
	// exactly as sent, and unsigned input must not reach the parser.
	set, err := h.verify(body, r.Header)
	if err != nil {
		// The id is the chosen set's (empty without one); unverified, it
		// is logged only to correlate with Svix's delivery log.
		h.log.WithFields(logrus.Fields{"source": "clerk", "svix_id": logSafeID(set.id)}).
			Warnf("Rejected Clerk webhook: %v", err)
		writeError(w, http.StatusUnauthorized, "invalid or missing Svix signature")
		return
	}
	svixID := set.id // verified: it is part of what was signed
	env, err := clerk.ParseEnvelope(body)
	if err != nil {
		h.log.WithFields(logrus.Fields{"source": "clerk", "svix_id": svixID}).Warnf("Rejected Clerk webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kind, entityID, err := clerk.Route(env)
	fields := logrus.Fields{"source": "clerk", "svix_id": svixID, "event": env.Type, "entity_id": logSafeID(entityID)}
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
	if msg := checkEntityID("the entity id", entityID); msg != "" {
		h.log.WithFields(fields).Warnf("Rejected Clerk webhook: %s", msg)
		writeError(w, http.StatusBadRequest, msg)
		return
	}

	// Only what the sync uses goes to Temporal: the workflow history keeps
	// what it is sent for the namespace's retention, readable to anyone
	// with access to it (no phones, metadata or external accounts).
	data, err := clerk.Minimal(env.Type, env.Data)
	if err != nil {
		h.log.WithFields(fields).Warnf("Rejected Clerk webhook: %v", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d := clerk.Delivery{SvixID: svixID, Type: env.Type, EntityID: entityID, Data: data}
	// Search attributes and a summary make the sync findable in the
	// Temporal UI ("every sync of this user").
	wfID, wf, wfType := workflows.UserWorkflowID(entityID), any(workflows.SyncUser), workflows.SyncUserWorkflow
	switch kind {
	case entity.Organization:
		wfID, wf, wfType = workflows.OrgWorkflowID(entityID), any(workflows.SyncOrg), workflows.SyncOrgWorkflow
	case entity.Invitation:
		wfID, wf, wfType = workflows.InviteWorkflowID(entityID), any(workflows.InviteContact), workflows.InviteContactWorkflow
	}
	attrs, summary := workflows.EntityLabels(kind, entityID)
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

// logSafeID bounds an id before it is logged and escapes what is not
// printable ASCII, so a hostile id can neither flood nor forge log lines.
func logSafeID(id string) string {
	if len(id) > MaxEntityIDBytes {
		id = id[:MaxEntityIDBytes] + "..."
	}
	q := strconv.QuoteToASCII(id)
	return q[1 : len(q)-1]
}
