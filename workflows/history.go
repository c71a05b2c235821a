package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
)

// Bounded histories of the entity sync workflows (SyncUser, SyncOrg,
// InviteContact). During a long Intercom outage a push retries for up to a
// day while Clerk events keep coming; queued in the workflow they would
// grow its history, and its continue-as-new input, past Temporal's limits
// (a 2 MB payload fails the run, and the queued events with it). So a run
// applies events as they come, even while it pushes — they wait in the
// database, the source of truth — and continues as new well before any
// limit.

// boundedHistoryChange is the workflow.GetVersion change id of this
// behaviour: runs recorded before it replay the plain loop.
const boundedHistoryChange = "bounded-history"

const (
	// maxRoundsPerRun: after this many apply-and-push rounds the workflow
	// continues as new with whatever is still queued.
	maxRoundsPerRun = 100
	// maxHistoryEvents: a run continues as new once its history has this
	// many events. An event costs a run about five (its signal, the
	// marker of the local activity that applies it, often a workflow task
	// of its own), so a run applies some 400 events: its history stays in
	// the hundreds of kilobytes — far under Temporal's hard limits (50,000
	// events, 50 MB) and its own warning (10,000) — and a worker replays
	// it quickly after a restart.
	maxHistoryEvents = 2000
	// maxCarriedBytes bounds the events handed to the next run unapplied.
	// They are its input, one payload, and a payload over 2 MB fails the
	// continue-as-new; 256 KiB (hundreds of Clerk events as clerk.Minimal
	// encodes them) leaves a wide margin. Beyond it they are applied
	// first, and only "a push is owed" is carried.
	maxCarriedBytes = 256 << 10
)

// historyFull reports whether this run should hand over to a new one:
// Temporal suggests it (its own size and count thresholds), or the
// history passed maxHistoryEvents.
func historyFull(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= maxHistoryEvents
}

// pushOutcome is what pushApplying did.
type pushOutcome struct {
	result activities.PushResult
	// changedMeanwhile: events applied while the push ran changed the
	// database, so the push may have written older data: another is owed.
	changedMeanwhile bool
	// abandoned: the history filled up and the push was cancelled before
	// it succeeded.
	abandoned bool
}

// pushApplying runs the push and, until it ends, applies each Clerk event
// signalled meanwhile, in arrival order. When the history fills up it
// cancels the push and waits for the attempt in flight to end
// (WaitForCancellation: a cancelled run's push never overlaps the next
// run's), still applying events.
func pushApplying(ctx, icCtx, dbCtx workflow.Context, signals workflow.ReceiveChannel,
	push pushActivity, req activities.PushRequest, tally *SyncResult) (pushOutcome, error) {
	var out pushOutcome
	pushCtx, cancel := workflow.WithCancel(workflow.WithWaitForCancellation(icCtx, true))
	future := workflow.ExecuteActivity(pushCtx, push, req)

	done, cancelled := false, false
	var arrived []clerk.Delivery
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(future, func(workflow.Future) { done = true })
	sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
		var d clerk.Delivery
		c.Receive(ctx, &d)
		arrived = append(arrived, d)
	})
	for !done {
		sel.Select(ctx)
		if arrived = drain(signals, arrived); len(arrived) > 0 {
			changed, err := applyEvents(ctx, dbCtx, arrived, tally)
			arrived = nil
			out.changedMeanwhile = out.changedMeanwhile || changed
			if err != nil {
				cancel()
				return out, err
			}
		}
		if !cancelled && historyFull(ctx) {
			cancel()
			cancelled = true
		}
	}
	err := future.Get(ctx, &out.result)
	if cancelled && temporal.IsCanceledError(err) {
		out.abandoned = true
		return out, nil
	}
	return out, err
}

// boundCarried returns the events to hand to the next run: the ones
// drained but not applied, unless they pass maxCarriedBytes; then they are
// applied here (with any signalled meanwhile) and owed reports whether
// that changed the database, i.e. the next run owes a push.
func boundCarried(ctx, dbCtx workflow.Context, signals workflow.ReceiveChannel,
	pending []clerk.Delivery, tally *SyncResult) (carried []clerk.Delivery, owed bool, err error) {
	for carriedSize(pending) > maxCarriedBytes {
		changed, err := applyEvents(ctx, dbCtx, pending, tally)
		if err != nil {
			return nil, owed, err
		}
		owed = owed || changed
		pending = drain(signals, nil)
	}
	return pending, owed, nil
}

// carriedSize is about the encoded size of events: their data is raw
// JSON, and the rest a few short strings.
func carriedSize(events []clerk.Delivery) int {
	n := 0
	for _, d := range events {
		n += len(d.Data) + len(d.SvixID) + len(d.Type) + len(d.EntityID) + 64
	}
	return n
}
