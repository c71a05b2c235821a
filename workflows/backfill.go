package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Backfill's workflow type, its query, and the memo key of its progress.
const (
	BackfillWorkflow = "Backfill"
	// BackfillProgressQuery answers a BackfillProgress.
	BackfillProgressQuery = "progress"
	// BackfillMemoKey holds a BackfillProgress in the memo, so the Temporal
	// UI shows how far a backfill is without a query.
	BackfillMemoKey = "progress"
)

// BackfillWorkflowID is the ID of a backfill started at start for env
// ("backfill/staging/2026-01-02T03:04:05Z").
func BackfillWorkflowID(env string, start time.Time) string {
	return "backfill/" + env + "/" + start.UTC().Format(time.RFC3339)
}

// BackfillInput starts a backfill; every field is optional ({} syncs
// everything).
type BackfillInput struct {
	// Environment is written as custom_attributes.environment instead of
	// the worker's ENVIRONMENT_NAME.
	Environment  string     `json:"environment,omitempty"`
	OrgIDs       []string   `json:"org_ids,omitempty"`
	UserIDs      []string   `json:"user_ids,omitempty"`
	UpdatedSince *time.Time `json:"updated_since,omitempty"`
	// DryRun reads Intercom and reports counts and a sample of what would
	// be created, updated or deleted, writing nothing.
	DryRun bool `json:"dry_run,omitempty"`

	// Tuning. BatchSize: entities per batch (default and most 150; its
	// contacts are read in searches of 15 ids, the documented size of an
	// OR group). Concurrency: batches in
	// flight (default 8), EntityConcurrency: entities at once in a batch
	// (default 4) — together enough calls in flight to keep Intercom's
	// rate limit busy. BatchesPerRun: batches before continue-as-new
	// (default 100).
	BatchSize         int `json:"batch_size,omitempty"`
	Concurrency       int `json:"concurrency,omitempty"`
	EntityConcurrency int `json:"entity_concurrency,omitempty"`
	BatchesPerRun     int `json:"batches_per_run,omitempty"`
	// IntercomTaskQueue is where the Intercom activities run; empty means
	// "<this workflow's task queue>-intercom".
	IntercomTaskQueue string `json:"intercom_task_queue,omitempty"`

	// State carries the progress across continue-as-new; never set it.
	State *BackfillState `json:"state,omitempty"`
}

func (in BackfillInput) filter() store.BackfillFilter {
	return store.BackfillFilter{OrgIDs: in.OrgIDs, UserIDs: in.UserIDs, UpdatedSince: in.UpdatedSince}
}

// BackfillState is where a backfill is.
type BackfillState struct {
	Phase       string `json:"phase"`
	Cursor      string `json:"cursor"`
	Environment string `json:"environment"`
	// Scanned: the company listing is done; CompanySnapshot: it was kept.
	Scanned         bool      `json:"scanned"`
	CompanySnapshot bool      `json:"company_snapshot"`
	Organizations   int       `json:"organizations"`
	Total           int       `json:"total"`
	StartedAt       time.Time `json:"started_at"`
	Runs            int       `json:"runs"`
	activities.BackfillCounts
	Failures []store.BackfillFailure     `json:"failures,omitempty"`
	Changes  []activities.BackfillChange `json:"changes,omitempty"`
}

// BackfillProgress is what the progress query and the memo show.
type BackfillProgress struct {
	// Phase is starting, organizations, users, invitations or done.
	Phase string `json:"phase"`
	activities.BackfillCounts
	Total int `json:"total"`
	// Rate is entities per second since the start.
	Rate           float64   `json:"rate"`
	DryRun         bool      `json:"dry_run"`
	Environment    string    `json:"environment"`
	StartedAt      time.Time `json:"started_at"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`
}

// BackfillResult is the outcome of a backfill: its final progress and
// samples of failures (all are in the backfill_failures table) and, in a
// dry run, of the changes it would make.
type BackfillResult struct {
	BackfillProgress
	Failures []store.BackfillFailure     `json:"failures,omitempty"`
	Changes  []activities.BackfillChange `json:"changes,omitempty"`
}

// The backfill's phases are the entity kinds' plurals ("organizations"),
// in entity.Kinds order; PhaseDone follows the last.
const PhaseDone = "done"

// Defaults of the tuning fields, and the sample the workflow keeps.
const (
	defaultBatchSize     = maxBatchSize
	maxBatchSize         = intercom.MaxSearchPerPage
	defaultConcurrency   = 8
	defaultBatchesPerRun = 100
	workflowSampleSize   = 20
	// memoEvery spaces memo updates (each is a history event).
	memoEvery = 10 * time.Second
)

// BackfillSummary is a backfill's one-line summary in the UI; env empty
// means the workers' own ENVIRONMENT_NAME.
func BackfillSummary(env string, dryRun bool) string {
	if env == "" {
		env = "the workers' environment"
	}
	s := "Backfill of " + env
	if dryRun {
		s += " (dry run)"
	}
	return s
}

// Backfill makes Intercom match the database: organizations as companies,
// then users with their companies, then pending invitations as invited
// contacts. It pages through the database in id order and runs a batch
// activity per page on the Intercom task queue, several at once; each
// compares with what Intercom holds and writes only what differs. It
// continues as new every BatchesPerRun batches, carrying its cursor and
// counts. Entities Intercom refuses are counted and recorded, and the run
// goes on.
func Backfill(ctx workflow.Context, in BackfillInput) (BackfillResult, error) {
	if err := label(ctx, BackfillSummary(in.Environment, in.DryRun), keyword{searchattr.SyncKind, "backfill"}); err != nil {
		return BackfillResult{}, err
	}
	if in.BatchSize <= 0 {
		in.BatchSize = defaultBatchSize
	}
	in.BatchSize = min(in.BatchSize, maxBatchSize)
	if in.Concurrency <= 0 {
		in.Concurrency = defaultConcurrency
	}
	if in.BatchesPerRun <= 0 {
		in.BatchesPerRun = defaultBatchesPerRun
	}
	dbCtx := workflow.WithLocalActivityOptions(ctx, databaseActivityOptions())
	r := &backfillRun{in: in, st: in.State, dbCtx: dbCtx,
		icCtx: workflow.WithActivityOptions(ctx, backfillActivityOptions(ctx, in.IntercomTaskQueue))}
	// Answer from the start; until the counting is done, phase "starting".
	err := workflow.SetQueryHandler(ctx, BackfillProgressQuery, func() (BackfillProgress, error) {
		return r.progress(workflow.Now(ctx)), nil
	})
	if err != nil {
		return BackfillResult{}, err
	}
	st := in.State
	if st == nil {
		var plan activities.BackfillPlan
		err := workflow.ExecuteLocalActivity(dbCtx, a.PrepareBackfill,
			activities.BackfillPrepareRequest{Filter: in.filter(), Environment: in.Environment}).Get(ctx, &plan)
		if err != nil {
			return BackfillResult{}, fmt.Errorf("prepare backfill: %w", err)
		}
		st = &BackfillState{
			Phase: entity.Kinds[0].Plural(), Environment: plan.Environment, Organizations: plan.Organizations,
			Total: plan.Organizations + plan.Users + plan.Invitations, StartedAt: workflow.Now(ctx),
		}
	}
	st.Runs++
	r.st = st
	r.memo(ctx, true)

	for st.Phase != PhaseDone {
		if st.Phase == entity.Organization.Plural() && !st.Scanned {
			var scan activities.ScanCompaniesResult
			err := workflow.ExecuteActivity(r.icCtx, a.ScanCompanies,
				activities.ScanCompaniesRequest{Organizations: st.Organizations}).Get(ctx, &scan)
			if err != nil {
				return BackfillResult{}, fmt.Errorf("list Intercom companies: %w", err)
			}
			st.Scanned, st.CompanySnapshot = true, scan.Snapshot
		}
		finished, err := r.phase(ctx)
		if err != nil {
			r.memo(ctx, true)
			return BackfillResult{}, err
		}
		if !finished {
			// The run's batch budget is spent: start afresh with the
			// cursor and counts, before the history grows large.
			r.memo(ctx, true)
			in.State = st
			return BackfillResult{}, workflow.NewContinueAsNewError(ctx, Backfill, in)
		}
		st.Phase, st.Cursor = nextPhase(st.Phase), ""
		r.memo(ctx, true)
	}
	if err := workflow.ExecuteLocalActivity(dbCtx, a.FinishBackfill).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("Could not clear the backfill's company listing", "error", err)
	}
	res := r.result(ctx)
	workflow.GetLogger(ctx).Info("Backfill finished", "done", res.Done, "total", res.Total,
		"unchanged", res.Unchanged, "created", res.Created, "updated", res.Updated, "deleted", res.Deleted,
		"failed", res.Failed, "dry_run", res.DryRun)
	return res, nil
}

func nextPhase(p string) string {
	for i, k := range entity.Kinds[:len(entity.Kinds)-1] {
		if k.Plural() == p {
			return entity.Kinds[i+1].Plural()
		}
	}
	return PhaseDone
}

// backfillRun is one run (between continue-as-new) of a backfill.
type backfillRun struct {
	in           BackfillInput
	st           *BackfillState
	dbCtx, icCtx workflow.Context
	batches      int
	lastMemo     time.Time
}

// phase runs batches of the current phase, Concurrency at a time, until
// the phase is done (true) or the run's batch budget is spent (false). A
// new phase starts only when every batch of this one has finished:
// contacts are attached to companies the previous phase made.
func (r *backfillRun) phase(ctx workflow.Context) (bool, error) {
	st := r.st
	sel := workflow.NewSelector(ctx)
	inFlight, exhausted := 0, false
	var fatal error
	for {
		for !exhausted && fatal == nil && inFlight < r.in.Concurrency && r.batches < r.in.BatchesPerRun &&
			!workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			var rg activities.BackfillRange
			err := workflow.ExecuteLocalActivity(r.dbCtx, a.NextBackfillRange, activities.BackfillRangeRequest{
				Kind: st.Phase, Filter: r.in.filter(), After: st.Cursor, Limit: r.in.BatchSize,
			}).Get(ctx, &rg)
			if err != nil {
				fatal = fmt.Errorf("page %s after %q: %w", st.Phase, st.Cursor, err)
				break
			}
			if rg.Count == 0 {
				exhausted = true
				break
			}
			req := activities.BackfillBatchRequest{
				Kind: st.Phase, Filter: r.in.filter(), After: st.Cursor, UpTo: rg.UpTo,
				Environment: st.Environment, DryRun: r.in.DryRun, CompanySnapshot: st.CompanySnapshot,
				Concurrency: r.in.EntityConcurrency,
			}
			st.Cursor = rg.UpTo
			r.batches++
			inFlight++
			sel.AddFuture(workflow.ExecuteActivity(r.icCtx, a.BackfillBatch, req), func(f workflow.Future) {
				inFlight--
				var res activities.BackfillBatchResult
				if err := f.Get(ctx, &res); err != nil {
					if err := r.batchFailed(ctx, req, rg.Count, err); err != nil && fatal == nil {
						fatal = err
					}
					return
				}
				r.add(res)
				r.memo(ctx, false)
			})
		}
		if inFlight == 0 {
			return exhausted && fatal == nil, fatal
		}
		sel.Select(ctx)
	}
}

// batchFailed handles a batch that failed for good. A wrong token stops
// the backfill (every call would fail); anything else is recorded as a
// failure of the batch's range, and the backfill goes on.
func (r *backfillRun) batchFailed(ctx workflow.Context, req activities.BackfillBatchRequest, count int, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeAuth {
		return fmt.Errorf("backfill %s (%q, %q]: %w", req.Kind, req.After, req.UpTo, err)
	}
	f := store.BackfillFailure{
		Kind:     "batch",
		EntityID: fmt.Sprintf("%s (%q, %q]", req.Kind, req.After, req.UpTo),
		Error:    err.Error(),
		FailedAt: workflow.Now(ctx),
	}
	workflow.GetLogger(ctx).Error("Backfill batch failed", "kind", req.Kind, "after", req.After, "up_to", req.UpTo, "error", err)
	if recErr := workflow.ExecuteLocalActivity(r.dbCtx, a.RecordBackfillFailure, f).Get(ctx, nil); recErr != nil {
		return fmt.Errorf("record failed batch: %w", recErr)
	}
	// What the batch did before failing is unknown: count the whole range.
	r.add(activities.BackfillBatchResult{
		BackfillCounts: activities.BackfillCounts{Done: count, Failed: count},
		Failures:       []store.BackfillFailure{f},
	})
	return nil
}

func (r *backfillRun) add(res activities.BackfillBatchResult) {
	r.st.BackfillCounts.Add(res.BackfillCounts)
	for _, f := range res.Failures {
		if len(r.st.Failures) < workflowSampleSize {
			r.st.Failures = append(r.st.Failures, f)
		}
	}
	for _, c := range res.Changes {
		if len(r.st.Changes) < workflowSampleSize {
			r.st.Changes = append(r.st.Changes, c)
		}
	}
}

func (r *backfillRun) progress(now time.Time) BackfillProgress {
	st := r.st
	if st == nil {
		return BackfillProgress{Phase: "starting", DryRun: r.in.DryRun, Environment: r.in.Environment}
	}
	p := BackfillProgress{
		Phase: st.Phase, BackfillCounts: st.BackfillCounts, Total: max(st.Total, st.Done),
		DryRun: r.in.DryRun, Environment: st.Environment, StartedAt: st.StartedAt,
		ElapsedSeconds: now.Sub(st.StartedAt).Seconds(),
	}
	if p.ElapsedSeconds > 0 {
		p.Rate = float64(st.Done) / p.ElapsedSeconds
	}
	return p
}

// memo puts the progress in the memo: always when forced (phase changes,
// the end), else at most every memoEvery, since each update is a history
// event.
func (r *backfillRun) memo(ctx workflow.Context, force bool) {
	now := workflow.Now(ctx)
	if !force && now.Sub(r.lastMemo) < memoEvery {
		return
	}
	r.lastMemo = now
	if err := workflow.UpsertMemo(ctx, map[string]any{BackfillMemoKey: r.progress(now)}); err != nil {
		workflow.GetLogger(ctx).Warn("Could not update the backfill's memo", "error", err)
	}
}

func (r *backfillRun) result(ctx workflow.Context) BackfillResult {
	return BackfillResult{BackfillProgress: r.progress(workflow.Now(ctx)), Failures: r.st.Failures, Changes: r.st.Changes}
}

// backfillActivityOptions: batches run on the Intercom task queue. A
// batch may take minutes when the rate limit is busy; it heartbeats every
// second, so a worker that dies is noticed within the heartbeat timeout
// and the batch retried elsewhere, from its last heartbeat. Rate limits
// and transient errors are handled inside the batch; what still fails it
// (Intercom down for minutes, the database) backs off as other Intercom
// activities do.
func backfillActivityOptions(ctx workflow.Context, queue string) workflow.ActivityOptions {
	o := intercomActivityOptions(ctx, queue)
	o.StartToCloseTimeout = time.Hour
	o.HeartbeatTimeout = 20 * time.Second
	return o
}
