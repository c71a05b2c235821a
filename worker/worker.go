// Package worker registers the workflows and activities on their task
// queues: workflows and database activities on the main queue, Intercom
// activities on their own queue with a fleet-wide rate cap.
package worker

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// Options configures the workers.
type Options struct {
	TaskQueue                  string
	IntercomTaskQueue          string
	IntercomRateLimitPerMinute int
	Tuning
}

// Tuning changes how the workers behave where production keeps the
// defaults; tests that kill a worker mid-batch set it.
type Tuning struct {
	// MaxHeartbeatThrottleInterval, if set, caps how long the Intercom
	// worker holds heartbeats back (the SDK's default: 80 % of the
	// heartbeat timeout).
	MaxHeartbeatThrottleInterval time.Duration
	// KillOnStop makes Stop cancel running activities at once instead of
	// letting them finish for StopTimeout, as a killed process would.
	KillOnStop bool
}

func (t Tuning) stopTimeout() time.Duration {
	if t.KillOnStop {
		return 0
	}
	return StopTimeout
}

// capShare keeps the fleet's activity rate a little below Intercom's
// limit: the server enforces TaskQueueActivitiesPerSecond only
// approximately (≈1 % over in a 10-second window), and the client's header
// pacing fills the rest.
const capShare = 0.9

// ActivitiesPerSecond is the fleet-wide cap for the Intercom task queue.
func ActivitiesPerSecond(perMinute int) float64 {
	return float64(perMinute) / 60 * capShare
}

// StopTimeout is how long a stopping worker lets running activities
// finish; Kubernetes' grace period for workers (60 s) is longer.
const StopTimeout = 30 * time.Second

// Workers is the pair of Temporal workers of one process.
type Workers struct {
	Main, Intercom sdkworker.Worker
}

// New registers everything on two workers.
func New(c client.Client, o Options, acts *activities.Activities) *Workers {
	// WorkerStopTimeout: on SIGTERM, running activities get this long to
	// finish before the worker stops (the pods' grace period is longer).
	main := sdkworker.New(c, o.TaskQueue, sdkworker.Options{WorkerStopTimeout: o.stopTimeout()})
	Register(main, acts)

	ic := sdkworker.New(c, o.IntercomTaskQueue, sdkworker.Options{
		TaskQueueActivitiesPerSecond: ActivitiesPerSecond(o.IntercomRateLimitPerMinute),
		DisableWorkflowWorker:        true,
		WorkerStopTimeout:            o.stopTimeout(),
		MaxHeartbeatThrottleInterval: o.MaxHeartbeatThrottleInterval,
	})
	RegisterIntercom(ic, acts)
	return &Workers{Main: main, Intercom: ic}
}

// Registry is what Register needs of a worker (a worker or a replayer).
type Registry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// RegisterWorkflows registers every workflow type under its public name.
func RegisterWorkflows(r interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(workflows.SyncUser, workflow.RegisterOptions{Name: workflows.SyncUserWorkflow})
	r.RegisterWorkflowWithOptions(workflows.SyncOrg, workflow.RegisterOptions{Name: workflows.SyncOrgWorkflow})
	r.RegisterWorkflowWithOptions(workflows.InviteContact, workflow.RegisterOptions{Name: workflows.InviteContactWorkflow})
	r.RegisterWorkflowWithOptions(workflows.EnrichConversation, workflow.RegisterOptions{Name: workflows.EnrichConversationWorkflow})
	r.RegisterWorkflowWithOptions(workflows.TagResync, workflow.RegisterOptions{Name: workflows.TagResyncWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Backfill, workflow.RegisterOptions{Name: workflows.BackfillWorkflow})
}

// Register puts the workflows and database activities on the main queue.
func Register(r Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivityWithOptions(acts.ApplyClerkEvent, activity.RegisterOptions{Name: "ApplyClerkEvent"})
	r.RegisterActivityWithOptions(acts.SignalWorkflow, activity.RegisterOptions{Name: "SignalWorkflow"})
	r.RegisterActivityWithOptions(acts.ClaimNotification, activity.RegisterOptions{Name: "ClaimNotification"})
	r.RegisterActivityWithOptions(acts.SyncedIntercomID, activity.RegisterOptions{Name: "SyncedIntercomID"})
	r.RegisterActivityWithOptions(acts.LookupResyncMember, activity.RegisterOptions{Name: "LookupResyncMember"})
	// Backfill's database steps (local activities).
	r.RegisterActivityWithOptions(acts.PrepareBackfill, activity.RegisterOptions{Name: "PrepareBackfill"})
	r.RegisterActivityWithOptions(acts.NextBackfillRange, activity.RegisterOptions{Name: "NextBackfillRange"})
	r.RegisterActivityWithOptions(acts.RecordBackfillFailure, activity.RegisterOptions{Name: "RecordBackfillFailure"})
	r.RegisterActivityWithOptions(acts.FinishBackfill, activity.RegisterOptions{Name: "FinishBackfill"})
}

// RegisterIntercom puts the Intercom activities on the Intercom queue.
func RegisterIntercom(r interface {
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}, acts *activities.Activities) {
	r.RegisterActivityWithOptions(acts.PushUser, activity.RegisterOptions{Name: "PushUser"})
	r.RegisterActivityWithOptions(acts.PushOrg, activity.RegisterOptions{Name: "PushOrg"})
	r.RegisterActivityWithOptions(acts.PushInvitation, activity.RegisterOptions{Name: "PushInvitation"})
	r.RegisterActivityWithOptions(acts.EnrichContact, activity.RegisterOptions{Name: "EnrichContact"})
	// TagResync's Intercom steps.
	r.RegisterActivityWithOptions(acts.ReadResyncConversation, activity.RegisterOptions{Name: "ReadResyncConversation"})
	r.RegisterActivityWithOptions(acts.PrepareResyncContact, activity.RegisterOptions{Name: "PrepareResyncContact"})
	r.RegisterActivityWithOptions(acts.MergeLeadIntoUser, activity.RegisterOptions{Name: "MergeLeadIntoUser"})
	r.RegisterActivityWithOptions(acts.ArchiveDuplicateUser, activity.RegisterOptions{Name: "ArchiveDuplicateUser"})
	r.RegisterActivityWithOptions(acts.UpdateResyncContact, activity.RegisterOptions{Name: "UpdateResyncContact"})
	r.RegisterActivityWithOptions(acts.RemoveConversationTag, activity.RegisterOptions{Name: "RemoveConversationTag"})
	// Backfill's Intercom steps.
	r.RegisterActivityWithOptions(acts.ScanCompanies, activity.RegisterOptions{Name: "ScanCompanies"})
	r.RegisterActivityWithOptions(acts.BackfillBatch, activity.RegisterOptions{Name: "BackfillBatch"})
}

// Start starts both workers.
func (w *Workers) Start() error {
	if err := w.Main.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if err := w.Intercom.Start(); err != nil {
		w.Main.Stop()
		return fmt.Errorf("start Intercom worker: %w", err)
	}
	return nil
}

// Stop stops both, letting running activities finish (WorkerStopTimeout).
func (w *Workers) Stop() {
	w.Intercom.Stop()
	w.Main.Stop()
}
