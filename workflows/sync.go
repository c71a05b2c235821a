// Package workflows orchestrates the sync. Workflow code is deterministic:
// every side effect is an activity (package activities), and retry
// policies live here.
package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Workflow types, the signal that carries Clerk events, and workflow IDs.
const (
	SyncUserWorkflow = "SyncUser"
	SyncOrgWorkflow  = "SyncOrg"

	// ClerkEventSignal carries one clerk.Delivery to the entity's workflow.
	ClerkEventSignal = "clerk-event"
	// ResyncSignal (no payload) makes the workflow push the entity's
	// current state again even if nothing changed: the operator's "run this
	// sync again" (see README).
	ResyncSignal = "resync"
	// RefreshSignal (no payload) makes the workflow push without forcing:
	// something outside its own events changed what it must write (an
	// invitation of the user's was accepted).
	RefreshSignal = "refresh"
)

// UserWorkflowID is the one workflow ID of a user's syncs: all of its
// events (user and membership) are serialized through it.
func UserWorkflowID(userID string) string { return "user/" + userID }

// OrgWorkflowID is the one workflow ID of an organization's syncs.
func OrgWorkflowID(orgID string) string { return "org/" + orgID }

// SyncInput starts SyncUser or SyncOrg. Events arrive as ClerkEventSignal
// (signal-with-start); Pending carries unprocessed ones across
// continue-as-new, and Resync a resync request not yet served.
type SyncInput struct {
	EntityID string           `json:"entity_id"`
	Pending  []clerk.Delivery `json:"pending,omitempty"`
	Resync   bool             `json:"resync,omitempty"`
	Refresh  bool             `json:"refresh,omitempty"`
	// IntercomTaskQueue is where Intercom activities run; empty means
	// "<this workflow's task queue>-intercom".
	IntercomTaskQueue string `json:"intercom_task_queue,omitempty"`
	// SoFar is what the runs before this one (continued as new) did, so
	// the last run's result tells the whole story.
	SoFar *SyncResult `json:"so_far,omitempty"`
}

// SyncResult is what a SyncUser, SyncOrg or InviteContact run did (its
// result in the UI and in `temporal workflow describe`), counting the runs
// it continued from.
type SyncResult struct {
	// IntercomID is the contact or company the entity has in Intercom,
	// also when this run only saw redeliveries and pushed nothing.
	IntercomID string `json:"intercom_id,omitempty"`
	// Outcome is what the last push did (created, updated, unchanged,
	// deleted, absent, …); empty when no push was needed.
	Outcome activities.PushOutcome `json:"outcome,omitempty"`
	// Events is how many Clerk events were received; Applied, how many
	// of them changed the database (the rest were redeliveries or stale).
	Events  int `json:"events"`
	Applied int `json:"applied"`
	// Pushes is how many pushes to Intercom completed.
	Pushes int `json:"pushes"`
}

// a is used only for method references: workflows never call it.
var a *activities.Activities

// SyncUser applies a user's Clerk events (user.* and
// organizationMembership.*) to the database, one at a time in arrival
// order, then pushes the user's current state to Intercom. It ends when no
// event is queued; the next event starts it again.
func SyncUser(ctx workflow.Context, in SyncInput) (SyncResult, error) {
	return runEntitySync(ctx, in, SyncUser, a.PushUser, entity.User, recordContact())
}

// recordContact keeps the IntercomContactID search attribute on the
// contact the last push wrote, so the UI finds a sync by contact id too.
func recordContact() afterPush {
	var recorded string
	return func(ctx workflow.Context, res activities.PushResult) error {
		if res.IntercomID == "" || res.IntercomID == recorded {
			return nil
		}
		// Versioned: runs started before this attribute existed replay
		// without the upsert command (workflows/testdata/replay keeps such
		// histories).
		if workflow.GetVersion(ctx, "record-contact-search-attribute", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return nil
		}
		recorded = res.IntercomID
		return workflow.UpsertTypedSearchAttributes(ctx, searchattr.IntercomContactID.ValueSet(res.IntercomID))
	}
}

// SyncOrg does the same for an organization and its company.
func SyncOrg(ctx workflow.Context, in SyncInput) (SyncResult, error) {
	return runEntitySync(ctx, in, SyncOrg, a.PushOrg, entity.Organization, nil)
}

// afterPush runs after a successful push (e.g. to hand work to another
// entity's workflow).
type afterPush func(ctx workflow.Context, res activities.PushResult) error

// pushActivity is the Intercom push of one kind of entity (PushUser,
// PushOrg, PushInvitation).
type pushActivity func(context.Context, activities.PushRequest) (activities.PushResult, error)

// runEntitySync is the loop of the entity sync workflows: apply queued
// events, push, repeat; self is the workflow itself, to continue as new.
//
// Runs of version boundedHistory (every run started since) keep their
// history bounded (see history.go): while a push runs they apply the
// events signalled meanwhile, and they continue as new when Temporal
// suggests it or the history passes maxHistoryEvents. Older runs replay
// the loop as it was.
func runEntitySync(ctx workflow.Context, in SyncInput, self func(workflow.Context, SyncInput) (SyncResult, error),
	push pushActivity, kind entity.Kind, after afterPush) (SyncResult, error) {
	summary, attrs := entityLabels(kind, in.EntityID)
	if err := label(ctx, summary, attrs...); err != nil {
		return SyncResult{}, err
	}
	var result SyncResult
	if in.SoFar != nil {
		result = *in.SoFar
	}
	tally := &result
	bounded := workflow.GetVersion(ctx, boundedHistoryChange, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	logger := workflow.GetLogger(ctx)
	signals := workflow.GetSignalChannel(ctx, ClerkEventSignal)
	dbCtx := workflow.WithLocalActivityOptions(ctx, databaseActivityOptions())
	icCtx := workflow.WithActivityOptions(ctx, intercomActivityOptions(ctx, in.IntercomTaskQueue))

	resyncs := workflow.GetSignalChannel(ctx, ResyncSignal)
	refreshes := workflow.GetSignalChannel(ctx, RefreshSignal)
	pending, resync, refresh := in.Pending, in.Resync, in.Refresh
	for round := 0; ; round++ {
		pending = drain(signals, pending)
		for resyncs.ReceiveAsync(nil) {
			resync = true
		}
		for refreshes.ReceiveAsync(nil) {
			refresh = true
		}
		if len(pending) == 0 && !resync && !refresh {
			return finishResult(ctx, kind, in.EntityID, result)
		}
		if round >= maxRoundsPerRun || bounded && historyFull(ctx) {
			if bounded {
				// Every signal delivered so far is in pending (drained
				// above, in this workflow task): none is lost with the run.
				carried, owed, err := boundCarried(ctx, dbCtx, signals, pending, tally)
				if err != nil {
					return result, err
				}
				pending, refresh = carried, refresh || owed
			}
			in.Pending, in.Resync, in.Refresh, in.SoFar = pending, resync, refresh, &result
			return result, workflow.NewContinueAsNewError(ctx, self, in)
		}
		changed, err := applyEvents(ctx, dbCtx, pending, tally)
		pending = nil
		if err != nil {
			return result, err
		}
		if !changed && !resync && !refresh {
			continue // duplicates or stale events: Intercom is already right
		}
		var res activities.PushResult
		req := activities.PushRequest{EntityID: in.EntityID, Force: resync}
		resync, refresh = false, false
		if bounded {
			var out pushOutcome
			out, err = pushApplying(ctx, icCtx, dbCtx, signals, push, req, tally)
			res = out.result
			// Events applied during the push may not be in what it wrote.
			refresh = out.changedMeanwhile
			if err == nil && out.abandoned {
				// The history filled up first: the next run pushes again.
				resync, refresh = req.Force, true
				continue
			}
		} else {
			err = workflow.ExecuteActivity(icCtx, push, req).Get(ctx, &res)
		}
		if err != nil {
			logger.Error(fmt.Sprintf("Failed to sync %s %s to Intercom: %v", kind, in.EntityID, err))
			// The database stays the source of truth: record whatever is
			// queued before failing, so no event is lost with this run.
			if _, applyErr := applyEvents(ctx, dbCtx, drain(signals, nil), tally); applyErr != nil {
				logger.Error("Could not apply queued events", "error", applyErr)
			}
			return result, stepFailure("push "+string(kind)+" "+in.EntityID+" to Intercom", err)
		}
		result.Pushes++
		result.Outcome = res.Outcome
		if res.IntercomID != "" {
			result.IntercomID = res.IntercomID
		}
		logger.Info("Pushed to Intercom", "entity_id", in.EntityID, "outcome", res.Outcome, "intercom_id", res.IntercomID)
		if after != nil {
			if err := after(ctx, res); err != nil {
				return result, err
			}
		}
	}
}

// drain appends every signal already delivered, without blocking.
func drain(ch workflow.ReceiveChannel, pending []clerk.Delivery) []clerk.Delivery {
	for {
		var d clerk.Delivery
		if !ch.ReceiveAsync(&d) {
			return pending
		}
		pending = append(pending, d)
	}
}

// applyEvents writes events to the database in arrival order and reports
// whether any changed it. An unusable event is logged and skipped: it can
// never succeed, and the events after it must still be applied.
func applyEvents(ctx, dbCtx workflow.Context, events []clerk.Delivery, tally *SyncResult) (bool, error) {
	changed := false
	for _, d := range events {
		tally.Events++
		var res store.ApplyResult
		err := workflow.ExecuteLocalActivity(dbCtx, a.ApplyClerkEvent, d).Get(ctx, &res)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeBadEvent {
			workflow.GetLogger(ctx).Error("Skipping unusable Clerk event", "svix_id", d.SvixID, "type", d.Type, "error", err)
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("apply %s %s: %w", d.Type, d.SvixID, err)
		}
		changed = changed || res.Changed
		if res.Changed {
			tally.Applied++
		}
	}
	return changed, nil
}

// databaseActivityOptions: database writes are local activities — run by
// the worker inside the workflow task, saving a server round trip per
// event (the Temporal server, not Postgres, dominates their latency). An
// outage is retried for a day with backoff capped at a minute.
func databaseActivityOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeBadEvent},
		},
	}
}

// intercomActivityOptions: Intercom calls run on their own, rate-capped
// task queue. 429s wait for the window reset (the activity sets
// NextRetryDelay), 5xx and timeouts back off exponentially; 4xx fail at
// once (the activity marks them non-retryable).
func intercomActivityOptions(ctx workflow.Context, queue string) workflow.ActivityOptions {
	if queue == "" {
		queue = IntercomQueueFor(workflow.GetInfo(ctx).TaskQueueName)
	}
	return workflow.ActivityOptions{
		TaskQueue:              queue,
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			NonRetryableErrorTypes: []string{
				activities.ErrTypeClient, activities.ErrTypeAuth,
			},
		},
	}
}

// IntercomQueueFor is the default Intercom task queue beside queue.
func IntercomQueueFor(queue string) string { return queue + "-intercom" }
