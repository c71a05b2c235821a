package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// fakeDB pages like NextBackfillRange over fixed ids per kind, and records
// the ranges asked for and the batches run.
type fakeDB struct {
	mu      sync.Mutex
	ids     map[string][]string
	asked   []string // kind/after
	batches []activities.BackfillBatchRequest
}

func (d *fakeDB) nextRange(_ context.Context, req activities.BackfillRangeRequest) (activities.BackfillRange, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, req.Kind+"/"+req.After)
	var page []string
	for _, id := range d.ids[req.Kind] {
		if id > req.After && len(page) < req.Limit {
			page = append(page, id)
		}
	}
	if len(page) == 0 {
		return activities.BackfillRange{}, nil
	}
	return activities.BackfillRange{UpTo: page[len(page)-1], Count: len(page)}, nil
}

func (d *fakeDB) count(req activities.BackfillBatchRequest) int {
	n := 0
	for _, id := range d.ids[req.Kind] {
		if id > req.After && id <= req.UpTo {
			n++
		}
	}
	return n
}

func (d *fakeDB) batch(_ context.Context, req activities.BackfillBatchRequest) (activities.BackfillBatchResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.batches = append(d.batches, req)
	n := d.count(req)
	return activities.BackfillBatchResult{BackfillCounts: activities.BackfillCounts{Done: n, Created: n}}, nil
}

func newBackfillEnv(t *testing.T, d *fakeDB) *testsuite.TestWorkflowEnvironment {
	env := newEnv(t)
	env.OnActivity(a.PrepareBackfill, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.BackfillPrepareRequest) (activities.BackfillPlan, error) {
			return activities.BackfillPlan{Environment: "test", Organizations: len(d.ids[entity.Organization.Plural()]),
				Users: len(d.ids[entity.User.Plural()]), Invitations: len(d.ids[entity.Invitation.Plural()])}, nil
		}).Maybe()
	env.OnActivity(a.NextBackfillRange, mock.Anything, mock.Anything).Return(d.nextRange).Maybe()
	env.OnActivity(a.FinishBackfill, mock.Anything).Return(nil).Maybe()
	return env
}

func sampleDB() *fakeDB {
	return &fakeDB{ids: map[string][]string{
		entity.Organization.Plural(): {"o1", "o2"},
		entity.User.Plural():         {"u1", "u2", "u3", "u4", "u5"},
		entity.Invitation.Plural():   {"i1"},
	}}
}

// The phases run in order, in batches from the database's pages, and a
// run whose batch budget is spent continues as new with its cursor and
// counts; the next run goes on from there and lists companies no more.
func TestBackfillContinuesAsNewWithCursorAndCounts(t *testing.T) {
	d := sampleDB()
	env := newBackfillEnv(t, d)
	env.OnActivity(a.ScanCompanies, mock.Anything, activities.ScanCompaniesRequest{Organizations: 2}).
		Return(activities.ScanCompaniesResult{Snapshot: true}, nil).Once()
	env.OnActivity(a.BackfillBatch, mock.Anything, mock.Anything).Return(d.batch)
	env.ExecuteWorkflow(workflows.Backfill, workflows.BackfillInput{BatchSize: 2, BatchesPerRun: 3, Concurrency: 2})

	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("first run ended with %v, want continue-as-new", env.GetWorkflowError())
	}
	var next workflows.BackfillInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.State
	if st == nil || st.Phase != entity.User.Plural() || st.Cursor != "u4" || st.Done != 6 || st.Total != 8 ||
		!st.Scanned || !st.CompanySnapshot || st.Environment != "test" {
		t.Fatalf("state carried over = %+v", st)
	}
	for _, b := range d.batches {
		if b.Kind == entity.Organization.Plural() && !b.CompanySnapshot || b.Environment != "test" {
			t.Fatalf("batch %+v", b)
		}
	}

	env2 := newBackfillEnv(t, d)
	env2.OnActivity(a.BackfillBatch, mock.Anything, mock.Anything).Return(d.batch)
	env2.ExecuteWorkflow(workflows.Backfill, next)
	var res workflows.BackfillResult
	if err := env2.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Done != 8 || res.Created != 8 || res.Total != 8 || res.Phase != workflows.PhaseDone {
		t.Fatalf("result = %+v", res.BackfillProgress)
	}
	want := "organizations/ organizations/o2 users/ users/u2 " + // first run (budget: 3 batches)
		"users/u4 users/u5 invitations/ invitations/i1" // second
	if got := strings.Join(d.asked, " "); got != want {
		t.Fatalf("pages asked:\n got %s\nwant %s", got, want)
	}
}

// A batch that fails for good is recorded as a failed range and counted;
// the backfill goes on with the next.
func TestBackfillRecordsAFailedBatchAndGoesOn(t *testing.T) {
	d := sampleDB()
	env := newBackfillEnv(t, d)
	env.OnActivity(a.ScanCompanies, mock.Anything, mock.Anything).Return(activities.ScanCompaniesResult{}, nil)
	env.OnActivity(a.BackfillBatch, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, req activities.BackfillBatchRequest) (activities.BackfillBatchResult, error) {
			if req.Kind == entity.User.Plural() && req.After == "" {
				return activities.BackfillBatchResult{}, temporal.NewNonRetryableApplicationError(
					"intercom POST /contacts/search: 400 bad query", activities.ErrTypeClient, nil)
			}
			return d.batch(ctx, req)
		})
	var recorded []store.BackfillFailure
	env.OnActivity(a.RecordBackfillFailure, mock.Anything, mock.Anything).Return(
		func(_ context.Context, f store.BackfillFailure) error {
			recorded = append(recorded, f)
			return nil
		}).Once()
	env.ExecuteWorkflow(workflows.Backfill, workflows.BackfillInput{BatchSize: 3})
	var res workflows.BackfillResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Done != 8 || res.Failed != 3 || res.Created != 5 || len(res.Failures) != 1 || len(recorded) != 1 ||
		recorded[0].Kind != "batch" || !strings.Contains(recorded[0].EntityID, `users ("", "u3"]`) ||
		!strings.Contains(recorded[0].Error, "400 bad query") {
		t.Fatalf("result %+v, failures %+v, recorded %+v", res.BackfillProgress, res.Failures, recorded)
	}
}

// A wrong token fails everything: the backfill stops with the error.
func TestBackfillStopsOnAuthError(t *testing.T) {
	d := sampleDB()
	env := newBackfillEnv(t, d)
	env.OnActivity(a.ScanCompanies, mock.Anything, mock.Anything).Return(activities.ScanCompaniesResult{}, nil)
	env.OnActivity(a.BackfillBatch, mock.Anything, mock.Anything).Return(activities.BackfillBatchResult{},
		temporal.NewNonRetryableApplicationError("intercom POST /companies: 401 Access Token Invalid", activities.ErrTypeAuth, nil))
	env.ExecuteWorkflow(workflows.Backfill, workflows.BackfillInput{})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "401 Access Token Invalid") {
		t.Fatalf("workflow error = %v, want the 401", err)
	}
}

// The progress query answers while batches run: phase, counts, total,
// rate and dry_run.
func TestBackfillProgressQuery(t *testing.T) {
	d := sampleDB()
	env := newBackfillEnv(t, d)
	env.OnActivity(a.ScanCompanies, mock.Anything, mock.Anything).Return(activities.ScanCompaniesResult{}, nil)
	env.OnActivity(a.BackfillBatch, mock.Anything, mock.Anything).After(10 * time.Second).Return(
		func(ctx context.Context, req activities.BackfillBatchRequest) (activities.BackfillBatchResult, error) {
			n := d.count(req)
			return activities.BackfillBatchResult{BackfillCounts: activities.BackfillCounts{Done: n, Unchanged: n}}, nil
		})
	var during workflows.BackfillProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.BackfillProgressQuery)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&during); err != nil {
			t.Error(err)
		}
	}, 15*time.Second) // organizations done, users running
	env.ExecuteWorkflow(workflows.Backfill, workflows.BackfillInput{DryRun: true})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if during.Phase != entity.User.Plural() || during.Done != 2 || during.Unchanged != 2 || during.Total != 8 ||
		!during.DryRun || during.Rate <= 0 || during.Environment != "test" {
		t.Fatalf("progress during the run = %+v", during)
	}
}
