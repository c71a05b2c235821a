package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// The backfill (workflow Backfill) makes Intercom match the database for
// every organization, user and invitation, whatever happened on
// Intercom's side. The workflow pages through the database (keyset
// ranges, NextBackfillRange) and hands each range to BackfillBatch, which
// reads what Intercom holds for the whole range in one call (a contact
// search by external_id; companies come from ScanCompanies' listing), then
// writes only what differs.

// BackfillPrepareRequest starts a backfill.
type BackfillPrepareRequest struct {
	Filter store.BackfillFilter `json:"filter"`
	// Environment overrides ENVIRONMENT_NAME as the
	// custom_attributes.environment written; "" keeps the worker's.
	Environment string `json:"environment,omitempty"`
}

// BackfillPlan is what a backfill has ahead of it.
type BackfillPlan struct {
	Environment   string `json:"environment"`
	Organizations int    `json:"organizations"`
	Users         int    `json:"users"`
	Invitations   int    `json:"invitations"`
}

// PrepareBackfill counts the entities a backfill will go through and
// settles the environment it writes (a local activity).
func (a *Activities) PrepareBackfill(ctx context.Context, req BackfillPrepareRequest) (BackfillPlan, error) {
	p := BackfillPlan{Environment: req.Environment}
	if p.Environment == "" {
		p.Environment = a.Environment
	}
	for kind, n := range map[entity.Kind]*int{
		entity.Organization: &p.Organizations, entity.User: &p.Users, entity.Invitation: &p.Invitations,
	} {
		c, err := a.Store.BackfillCount(ctx, kind, req.Filter)
		if err != nil {
			return p, err
		}
		*n = c
	}
	return p, nil
}

// BackfillRangeRequest asks for the next page of a kind of entity.
type BackfillRangeRequest struct {
	Kind   string               `json:"kind"` // the phase: entity.Kind.Plural()
	Filter store.BackfillFilter `json:"filter"`
	After  string               `json:"after"`
	Limit  int                  `json:"limit"`
}

// BackfillRange is a page of entities, the ids in (After, UpTo]; Count 0
// means the kind is done.
type BackfillRange struct {
	UpTo  string `json:"up_to"`
	Count int    `json:"count"`
}

// NextBackfillRange pages through the database in id order (a local
// activity: one indexed query).
func (a *Activities) NextBackfillRange(ctx context.Context, req BackfillRangeRequest) (BackfillRange, error) {
	kind, err := entity.FromPlural(req.Kind)
	if err != nil {
		return BackfillRange{}, err
	}
	upTo, n, err := a.Store.BackfillRange(ctx, kind, req.Filter, req.After, req.Limit)
	return BackfillRange{UpTo: upTo, Count: n}, err
}

// FinishBackfill drops what the backfill kept while it ran (the company
// listing); failures stay for the operator (a local activity).
func (a *Activities) FinishBackfill(ctx context.Context) error {
	return a.Store.ClearCompanySnapshot(ctx, activity.GetInfo(ctx).WorkflowExecution.ID)
}

// RecordBackfillFailure keeps a failure the workflow saw itself: a batch
// that could not be run at all (a local activity).
func (a *Activities) RecordBackfillFailure(ctx context.Context, f store.BackfillFailure) error {
	return a.Store.RecordBackfillFailure(ctx, activity.GetInfo(ctx).WorkflowExecution.ID, f.Kind, f.EntityID, f.Error)
}

// backfillPatience: transient errors are retried inside the call, with
// backoff (0.5 s doubling to 8 s, about a minute in all); if Intercom is
// still failing after that, the activity fails and Temporal retries it
// later, resuming from its heartbeat.
var backfillPatience = intercom.Patience{Retries: 8}

// BackfillBatchRequest is one range of one kind of entity.
type BackfillBatchRequest struct {
	Kind        string               `json:"kind"` // the phase: entity.Kind.Plural()
	Filter      store.BackfillFilter `json:"filter"`
	After       string               `json:"after"`
	UpTo        string               `json:"up_to"`
	Environment string               `json:"environment"`
	DryRun      bool                 `json:"dry_run,omitempty"`
	// CompanySnapshot: ScanCompanies kept the listing; an organization
	// absent from it is known to have no company (unless we pushed one).
	CompanySnapshot bool `json:"company_snapshot,omitempty"`
	// Concurrency is how many entities of the batch are synced at once.
	Concurrency int `json:"concurrency,omitempty"`
}

// BackfillCounts add up what happened to entities.
type BackfillCounts struct {
	Done      int `json:"done"`
	Unchanged int `json:"skipped_unchanged"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Failed    int `json:"failed"`
}

// Add adds o to c.
func (c *BackfillCounts) Add(o BackfillCounts) {
	c.Done += o.Done
	c.Unchanged += o.Unchanged
	c.Created += o.Created
	c.Updated += o.Updated
	c.Deleted += o.Deleted
	c.Failed += o.Failed
}

// BackfillChange is a write a backfill made, or in a dry run would make.
type BackfillChange struct {
	Kind     entity.Kind `json:"kind"`
	EntityID string      `json:"entity_id"`
	// Action is create, update or delete.
	Action string `json:"action"`
	// Fields are the fields that differ from what Intercom holds.
	Fields []string `json:"fields,omitempty"`
	// Attach and Detach are organizations whose companies the contact
	// gains or loses.
	Attach []string `json:"attach,omitempty"`
	Detach []string `json:"detach,omitempty"`
	// Note says more when the fields do not tell it all.
	Note string `json:"note,omitempty"`
}

// BackfillBatchResult is what a batch did; Failures and Changes are
// samples (every failure is in backfill_failures).
type BackfillBatchResult struct {
	BackfillCounts
	Failures []store.BackfillFailure `json:"failures,omitempty"`
	Changes  []BackfillChange        `json:"changes,omitempty"`
}

// sampleSize bounds the failures and changes a batch reports (the
// workflow keeps as many in all).
const sampleSize = 20

// defaultEntityConcurrency: a batch syncs this many entities at once, so
// that Intercom's latency (~100–300 ms a call) does not leave the rate
// limit idle: with the workflow's batches in flight it keeps dozens of
// calls going.
const defaultEntityConcurrency = 4

// BackfillBatch makes Intercom match the database for one range of
// entities. It reads Intercom's state for the whole range at once, then
// syncs entities concurrently, writing only what differs. An entity
// Intercom refuses (a 4xx) is recorded in backfill_failures and the batch
// goes on; rate limits are waited out and transient errors retried inside
// the calls; if those persist the activity fails and Temporal retries it.
// It heartbeats the entities done and the counts, so a retried attempt
// (after a crash, say) skips them.
func (a *Activities) BackfillBatch(ctx context.Context, req BackfillBatchRequest) (BackfillBatchResult, error) {
	b := &batch{a: a.forBackfill(req.Environment), req: req, wfID: activity.GetInfo(ctx).WorkflowExecution.ID, done: map[string]bool{}}
	if activity.HasHeartbeatDetails(ctx) {
		var prog batchProgress
		if err := activity.GetHeartbeatDetails(ctx, &prog); err != nil {
			return BackfillBatchResult{}, err
		}
		b.res = prog.Result
		for _, id := range prog.Done {
			b.done[id] = true
		}
	}
	stop := heartbeatEvery(ctx, time.Second, func() any { return b.progress() })
	kind, err := entity.FromPlural(req.Kind)
	switch kind {
	case entity.Organization:
		err = b.organizations(ctx)
	case entity.User:
		err = b.users(ctx)
	case entity.Invitation:
		err = b.invitations(ctx)
	}
	stop()
	if err != nil {
		return BackfillBatchResult{}, classify(err)
	}
	return b.progress().Result, nil
}

// batch is one BackfillBatch attempt.
type batch struct {
	a    *Activities
	req  BackfillBatchRequest
	wfID string

	mu   sync.Mutex
	done map[string]bool
	res  BackfillBatchResult
}

// each runs fn for every index with the batch's concurrency; the first
// error stops the others and is returned.
func (b *batch) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := b.req.Concurrency
	if workers <= 0 {
		workers = defaultEntityConcurrency
	}
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// outcome is what syncing one entity did; change is nil when nothing was
// (or would be) written.
type outcome struct {
	result PushOutcome // created, updated, deleted or unchanged
	change *BackfillChange
}

// entity runs one entity's sync and accounts for it. An error Intercom
// gave for this entity alone (a 4xx) becomes a recorded failure; any
// other error (Intercom down, the database, the token) stops the batch.
func (b *batch) entity(ctx context.Context, kind entity.Kind, id string, run func() (outcome, error)) error {
	out, err := run()
	var failure *store.BackfillFailure
	switch {
	case err != nil && entityOnly(ctx, err):
		b.a.Log.WithField(string(kind)+"_id", id).Errorf("Failed to sync %s %s to Intercom: %v", kind, id, err)
		failure = &store.BackfillFailure{Kind: kind, EntityID: id, Error: err.Error(), FailedAt: time.Now().UTC()}
		if err := b.a.Store.RecordBackfillFailure(ctx, b.wfID, kind, id, failure.Error); err != nil {
			return err
		}
	case err != nil:
		return err
	case out.change != nil && !b.req.DryRun:
		b.a.Log.WithFields(map[string]any{string(kind) + "_id": id, "outcome": out.result}).
			Infof("Successfully synced %s %s to Intercom", kind, id)
	}

	b.mu.Lock()
	b.res.Done++
	switch {
	case failure != nil:
		b.res.Failed++
		if len(b.res.Failures) < sampleSize {
			b.res.Failures = append(b.res.Failures, *failure)
		}
	case out.result == OutcomeCreated:
		b.res.Created++
	case out.result == OutcomeUpdated:
		b.res.Updated++
	case out.result == OutcomeDeleted:
		b.res.Deleted++
	default:
		b.res.Unchanged++
	}
	if failure == nil && out.change != nil && b.req.DryRun && len(b.res.Changes) < sampleSize {
		b.res.Changes = append(b.res.Changes, *out.change)
	}
	b.done[id] = true
	progress := b.progressLocked()
	b.mu.Unlock()
	// Each entity done is in the next heartbeat: a retry redoes as little
	// as the SDK's heartbeat throttling allows.
	activity.RecordHeartbeat(ctx, progress)
	return nil
}

// entityOnly reports whether err concerns one entity only: a 4xx from
// Intercom other than 401/403 (a wrong token fails everything) and 429
// (waited out, never a failure).
func entityOnly(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ie *intercom.Error
	if !errors.As(err, &ie) {
		return false
	}
	switch ie.Kind() {
	case intercom.KindClient, intercom.KindNotFound, intercom.KindConflict:
		return true
	}
	return false
}
