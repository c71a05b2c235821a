package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
)

// How a run reads in the Temporal UI and the CLI: the search attributes
// that "all syncs of this user" filters on, and a one-line summary. The
// webhook handler sets them when it starts a run, but a run can also be
// started by the temporal CLI (a resync, a backfill by hand): so each
// workflow sets what its starter did not, as its first step.

// selfLabelChange is the workflow.GetVersion change id of the runs that
// label themselves; runs recorded before it replay without the upsert.
const selfLabelChange = "self-label"

// keyword is one search attribute the run must carry.
type keyword struct {
	key   temporal.SearchAttributeKeyKeyword
	value string
}

// EntityLabels are the search attributes and the summary of an entity
// sync's run, for whoever starts it (api/clerk.go passes them to
// SignalWithStartWorkflow).
func EntityLabels(kind entity.Kind, id string) (temporal.SearchAttributes, string) {
	summary, attrs := entityLabels(kind, id)
	updates := make([]temporal.SearchAttributeUpdate, len(attrs))
	for i, kv := range attrs {
		updates[i] = kv.key.ValueSet(kv.value)
	}
	return temporal.NewSearchAttributes(updates...), summary
}

func entityLabels(kind entity.Kind, id string) (string, []keyword) {
	attrs := []keyword{{searchattr.SyncKind, kind.SearchValue()}}
	switch kind {
	case entity.Organization:
		attrs = append(attrs, keyword{searchattr.ClerkOrgID, id})
		return "Sync Clerk organization " + id + " to Intercom", attrs
	case entity.Invitation:
		attrs = append(attrs, keyword{searchattr.ClerkInvitationID, id})
		return "Sync Clerk invitation " + id + " to Intercom", attrs
	default:
		attrs = append(attrs, keyword{searchattr.ClerkUserID, id})
		return "Sync Clerk user " + id + " to Intercom", attrs
	}
}

// label shows summary as the run's current details (the UI's "Details";
// no history event) and upserts whichever of attrs the run lacks. A run
// started with them (the webhook handler's, or one continued as new,
// which keeps its attributes) upserts nothing.
func label(ctx workflow.Context, summary string, attrs ...keyword) error {
	workflow.SetCurrentDetails(ctx, summary)
	if workflow.GetVersion(ctx, selfLabelChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	have := workflow.GetTypedSearchAttributes(ctx)
	var missing []temporal.SearchAttributeUpdate
	for _, kv := range attrs {
		if v, ok := have.GetKeyword(kv.key); !ok || v != kv.value {
			missing = append(missing, kv.key.ValueSet(kv.value))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, missing...)
}

// finishResult completes a run's result. A run that pushed nothing (it
// saw only redeliveries) still names the entity's Intercom record, read
// from the sync state, and a user's or invitation's run carries it as
// IntercomContactID, so the UI finds it by contact id too.
func finishResult(ctx workflow.Context, kind entity.Kind, id string, res SyncResult) (SyncResult, error) {
	if res.IntercomID != "" || workflow.GetVersion(ctx, selfLabelChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return res, nil
	}
	dbCtx := workflow.WithLocalActivityOptions(ctx, databaseActivityOptions())
	var intercomID string
	if err := workflow.ExecuteLocalActivity(dbCtx, a.SyncedIntercomID, kind, id).Get(ctx, &intercomID); err != nil {
		return res, err
	}
	res.IntercomID = intercomID
	if intercomID == "" || kind == entity.Organization {
		return res, nil
	}
	return res, label(ctx, workflow.GetCurrentDetails(ctx), keyword{searchattr.IntercomContactID, intercomID})
}

// stepFailure is a run's failure as a person reads it: the step once,
// the cause's own message once (an activity error's text repeats its
// cause's, so the wrapped chain said it three times), and what retries.
// It has no cause: everything worth reading is in the message.
func stepFailure(step string, err error) error {
	var (
		appErr     *temporal.ApplicationError
		timeoutErr *temporal.TimeoutError
	)
	msg, errType, retried := err.Error(), "SyncFailed", "retried until its time limit"
	switch {
	case errors.As(err, &appErr):
		msg, errType = appErr.Message(), appErr.Type()
		if appErr.NonRetryable() {
			retried = "not retried: Intercom refused it, and the same request would be refused again"
		}
	case errors.As(err, &timeoutErr):
		msg = "timed out (" + timeoutErr.TimeoutType().String() + ")"
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s failed: %s (%s; this run ends here, the next event or a resync tries again)", step, msg, retried),
		errType, nil)
}
