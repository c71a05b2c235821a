package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/worker"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// specials adds what a plain population lacks: a deleted organization
// (its memberships end), a deleted user, a pending invitation, a revoked
// one and one accepted by an existing user.
type specials struct {
	deletedOrg, deletedUser, pending, revoked, accepted string
}

func (s *stack) seedSpecials(p population) specials {
	s.t.Helper()
	sp := specials{
		deletedOrg: p.orgs[len(p.orgs)-1].ID, deletedUser: p.users[3].ID,
		pending: s.id("orginv", "pending"), revoked: s.id("orginv", "revoked"), accepted: s.id("orginv", "accepted"),
	}
	at := p.users[0].CreatedAtMs
	s.seed(
		clerksim.DeletedEvent(clerk.OrgDeleted, sp.deletedOrg, "organization"),
		clerksim.DeletedEvent(clerk.UserDeleted, sp.deletedUser, "user"),
		clerksim.InvitationEvent(clerk.InvitationCreated, clerksim.Invitation{ID: sp.pending, OrgID: p.orgs[0].ID,
			Email: "newcomer." + s.prefix[:6] + "@example.com", Status: "pending", CreatedAtMs: at, UpdatedAtMs: at}),
		clerksim.InvitationEvent(clerk.InvitationRevoked, clerksim.Invitation{ID: sp.revoked, OrgID: p.orgs[0].ID,
			Email: "gone." + s.prefix[:6] + "@example.com", Status: "revoked", CreatedAtMs: at, UpdatedAtMs: at}),
		clerksim.InvitationEvent(clerk.InvitationAccepted, clerksim.Invitation{ID: sp.accepted, OrgID: p.orgs[1].ID,
			Email: p.users[1].Email, Status: "accepted", UserID: p.users[1].ID, CreatedAtMs: at, UpdatedAtMs: at}),
	)
	return sp
}

// A first backfill fills an empty Intercom; a second writes nothing; after
// edits in Intercom (contacts deleted and changed, companies renamed and
// deleted, associations added and removed, contacts and a company that
// should not exist) a third restores it exactly; after Intercom is wiped
// altogether a fourth does; a fifth writes nothing again.
func TestBackfillRestoresIntercom(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	p := s.seedPopulation(6, 40)
	sp := s.seedSpecials(p)

	res, wfID := s.runBackfill(workflows.BackfillInput{})
	s.requireIntercomMatchesDB(environment)
	// 5 live organizations, 39 live users, 1 pending invitation; the
	// deleted ones and the other invitations need nothing.
	if res.Created != 5+39+1 || res.Failed != 0 || res.Done != res.Total || res.Total != 6+40+3 || res.Phase != workflows.PhaseDone {
		t.Fatalf("first backfill: %+v", res.BackfillProgress)
	}
	// The Temporal UI shows the progress from the memo.
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	var memo workflows.BackfillProgress
	if err := converter.GetDefaultDataConverter().FromPayload(d.WorkflowExecutionInfo.GetMemo().GetFields()[workflows.BackfillMemoKey], &memo); err != nil {
		t.Fatal(err)
	}
	if memo.Phase != workflows.PhaseDone || memo.Done != res.Total || memo.Created != res.Created {
		t.Fatalf("memo = %+v", memo)
	}
	// So does the progress query the CLI's --wait polls.
	if q := s.progress(wfID); q.Phase != workflows.PhaseDone || q.Done != res.Total || q.Total != res.Total || q.Created != res.Created {
		t.Fatalf("progress query = %+v", q)
	}

	before := s.emulator.Snapshot().Counters
	res, _ = s.runBackfill(workflows.BackfillInput{})
	if w := writesSince(before, s.emulator); w != 0 || res.Unchanged != res.Total {
		t.Fatalf("second backfill made %d writes (%+v), want none", w, res.BackfillProgress)
	}

	ic := s.intercomClient()
	ctx := context.Background()
	contactOf := func(ext string) intercom.Contact {
		t.Helper()
		c := s.contact(ext)
		return intercom.Contact{ID: c.ID}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ic.DeleteContact(ctx, contactOf(p.users[0].ID).ID))
	_, err = ic.UpdateContact(ctx, contactOf(p.users[2].ID).ID, intercom.Fields{"name": "Edited", "email": "edited@example.com",
		"custom_attributes": map[string]any{"environment": "elsewhere"}})
	must(err)
	co4, _ := s.company(p.orgs[4].ID) // user 4 belongs to organizations 4 and 5 (deleted): only 4 left
	must(ic.DetachCompany(ctx, contactOf(p.users[4].ID).ID, co4.ID))
	co3, _ := s.company(p.orgs[3].ID)
	must(ic.AttachCompany(ctx, contactOf(p.users[6].ID).ID, co3.ID))
	_, err = ic.UpsertCompany(ctx, intercom.Fields{"company_id": p.orgs[1].ID, "name": "Renamed in Intercom"})
	must(err)
	co2, _ := s.company(p.orgs[2].ID)
	must(ic.DeleteCompany(ctx, co2.ID)) // its members are detached with it
	_, err = ic.CreateContact(ctx, intercom.Fields{"role": "user", "external_id": sp.deletedUser, "email": "ghost@example.com"})
	must(err)
	_, err = ic.UpsertCompany(ctx, intercom.Fields{"company_id": sp.deletedOrg, "name": "Ghost company"})
	must(err)
	_, err = ic.CreateContact(ctx, intercom.Fields{"role": "user", "external_id": activities.InvitedExternalID(sp.revoked), "email": "gone@example.com"})
	must(err)
	invited := s.contact(activities.InvitedExternalID(sp.pending))
	must(ic.UntagContact(ctx, invited.ID, invited.TagIDs[0]))
	// Edits made in Intercom by others show in its search only after the
	// search's lag (the emulator's: 2 s). A backfill sees what search
	// shows; the contacts it pushed itself it reads by id.
	time.Sleep(searchLag)

	// A dry run first: it sees every difference and changes nothing.
	before = s.emulator.Snapshot().Counters
	dry, _ := s.runBackfill(workflows.BackfillInput{DryRun: true})
	if w := writesSince(before, s.emulator); w != 0 {
		t.Fatalf("dry run made %d writes", w)
	}
	res, _ = s.runBackfill(workflows.BackfillInput{})
	s.requireIntercomMatchesDB(environment)
	if res.Failed != 0 || res.Created == 0 || res.Updated == 0 || res.Deleted != 3 {
		t.Fatalf("backfill after edits: %+v", res.BackfillProgress)
	}
	if dry.BackfillCounts != res.BackfillCounts {
		t.Fatalf("the dry run predicted %+v, the backfill did %+v", dry.BackfillCounts, res.BackfillCounts)
	}

	s.emulator.Reset()
	res, _ = s.runBackfill(workflows.BackfillInput{})
	s.requireIntercomMatchesDB(environment)
	if res.Created != 5+39+1 || res.Failed != 0 {
		t.Fatalf("backfill after a wipe: %+v", res.BackfillProgress)
	}

	before = s.emulator.Snapshot().Counters
	s.runBackfill(workflows.BackfillInput{})
	if w := writesSince(before, s.emulator); w != 0 {
		t.Fatalf("backfill of a restored Intercom made %d writes, want none", w)
	}
}

// 2,000 users in 200 organizations against an Intercom that fails 5 % of
// the calls — 4 % answered 500, 1 % carried out but their answers lost —
// the backfill ends with Intercom equal to the database, none of the
// faults counted as a failure. It continues as new on the way, and every
// run's history replays with the current code. A second run writes
// nothing.
func TestBackfillLargeWithFaults(t *testing.T) {
	t.Parallel()
	lossy := loseAnswers(0.01, 12)
	var lost *losingAnswers
	s := newStack(t, stackOptions{faults: emulator.Faults{ServerErrorRate: 0.04, Seed: 11},
		intercomTransport: func(next http.RoundTripper) http.RoundTripper {
			lost = lossy(next).(*losingAnswers)
			return lost
		}})
	s.seedPopulation(200, 2000)

	start := time.Now()
	res, wfID := s.runBackfill(workflows.BackfillInput{BatchesPerRun: 6})
	t.Logf("backfill of 2,200 entities: %s, %+v, emulator %+v", time.Since(start).Round(time.Millisecond), res.BackfillProgress,
		s.emulator.Snapshot().Counters)
	s.requireIntercomMatchesDB(environment)
	// A create whose answer was lost is repeated, answered 409 and counted
	// as an update of the contact it made.
	if res.Created+res.Updated != 2200 || res.Failed != 0 || res.Done != 2200 {
		t.Fatalf("backfill: %+v", res.BackfillProgress)
	}
	if s.emulator.Snapshot().Counters.FaultsInjected == 0 || lost.lost.Load() == 0 {
		t.Fatal("no fault was injected")
	}
	runs := s.runIDs(wfID)
	if len(runs) < 3 {
		t.Fatalf("%d runs, want the backfill to continue as new at least twice", len(runs))
	}
	replayer := sdkworker.NewWorkflowReplayer()
	worker.RegisterWorkflows(replayer)
	for _, runID := range runs {
		if err := replayer.ReplayWorkflowHistory(nil, s.history(wfID, runID)); err != nil {
			t.Fatalf("replay run %s: %v", runID, err)
		}
	}

	before := s.emulator.Snapshot().Counters
	res, _ = s.runBackfill(workflows.BackfillInput{})
	if w := writesSince(before, s.emulator); w != 0 || res.Unchanged != 2200 {
		t.Fatalf("second backfill made %d writes (%+v), want none", w, res.BackfillProgress)
	}
	s.requireIntercomMatchesDB(environment)
	// Companies are scrolled. One organization is cheaper to look up by
	// itself: the company count tells (one list call), then one read.
	s.emulator.SetFaults(emulator.Faults{})
	lost.mu.Lock()
	before = s.emulator.Snapshot().Counters
	lost.share = 0
	lost.mu.Unlock()
	res, _ = s.runBackfill(workflows.BackfillInput{OrgIDs: []string{s.id("org", "0007")}})
	after := s.emulator.Snapshot().Counters
	if reads := after.ByEndpoint["GET /companies"] - before.ByEndpoint["GET /companies"]; reads != 2 || res.Unchanged != res.Total {
		t.Fatalf("backfill of one organization: %d company reads (want 2), %+v", reads, res.BackfillProgress)
	}
}

// The workers die in the middle of a batch (contexts cancelled at once,
// nothing finishes) and new ones, with fresh caches, take over on the
// same queues: the backfill ends with Intercom exactly equal to the
// database, and the interrupted batch resumed from its heartbeat instead
// of starting over.
func TestBackfillSurvivesWorkerKill(t *testing.T) {
	t.Parallel()
	// Slow answers keep the batch going long enough to be cut.
	s := newStack(t, stackOptions{faults: emulator.Faults{SlowRate: 0.3, SlowDelay: 30 * time.Millisecond, Seed: 5}})
	s.workers.Stop() // idle: returns at once; replaced by killable workers
	s.seedPopulation(20, 500)
	first := s.startKillableWorkers()

	// One batch of 150 at a time: the cut lands near the end of the
	// third.
	run := s.startBackfill(workflows.BackfillInput{BatchSize: 150, Concurrency: 1})
	deadline := time.Now().Add(2 * time.Minute)
	for users := 0; users < 2*150+140; {
		if time.Now().After(deadline) {
			t.Fatal("backfill did not get far enough")
		}
		time.Sleep(10 * time.Millisecond)
		users = len(s.emulator.Snapshot().Contacts)
	}
	first.Stop()
	killedAt := len(s.emulator.Snapshot().Contacts)
	s.startKillableWorkers()

	res := s.backfillResult(run)
	t.Logf("killed at %d contacts; %+v", killedAt, res.BackfillProgress)
	s.requireIntercomMatchesDB(environment)
	if res.Done != 520 || res.Failed != 0 || res.Created+res.Updated+res.Unchanged != 520 {
		t.Fatalf("backfill after the kill: %+v", res.BackfillProgress)
	}
	// Starting the batch over would find its first ~140 contacts made
	// and count them unchanged; resuming skips what the heartbeat says is
	// done, and re-checks only the last 200 ms' entities.
	if res.Unchanged > 70 {
		t.Fatalf("%d entities counted unchanged: the interrupted batch started over instead of resuming", res.Unchanged)
	}
}

// startKillableWorkers starts workers like the stack's, but a stop is a
// kill: running activities are cancelled at once. Heartbeats reach the
// server every 200 ms (production: every 16 s, 80 % of the timeout).
func (s *stack) startKillableWorkers() *worker.Workers {
	s.t.Helper()
	w := s.newApp(app.Parts{Workers: true}, stackOptions{},
		worker.Tuning{MaxHeartbeatThrottleInterval: 200 * time.Millisecond, KillOnStop: true}).NewWorkers()
	if err := w.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(w.Stop)
	return w
}

// A dry run reads and reports but writes nothing; org_ids, user_ids and
// updated_since each narrow what a backfill touches.
func TestBackfillDryRunAndFilters(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	p := s.seedPopulation(4, 20) // user i in organization i mod 4; 4, 9, 14, 19 also in the next

	// A dry run on an empty Intercom: everything would be created.
	before := s.emulator.Snapshot().Counters
	res, _ := s.runBackfill(workflows.BackfillInput{DryRun: true})
	if w := writesSince(before, s.emulator); w != 0 {
		t.Fatalf("dry run made %d writes", w)
	}
	if !res.DryRun || res.Created != 24 || res.Done != 24 || len(res.Changes) != 20 ||
		res.Changes[0].Action != "create" || res.Changes[0].Kind != entity.Organization {
		t.Fatalf("dry run: %+v, changes %+v", res.BackfillProgress, res.Changes)
	}
	if n := len(s.emulator.Snapshot().Contacts); n != 0 {
		t.Fatalf("dry run created %d contacts", n)
	}

	// org_ids: organization 1 and its members: 1, 5, 9, 13, 17, and 4.
	// A member is synced whole: 4 is in organization 0 too, 9 in 2, so
	// those companies are made to attach them.
	res, _ = s.runBackfill(workflows.BackfillInput{OrgIDs: []string{p.orgs[1].ID}})
	snap := s.emulator.Snapshot()
	var companies []string
	for _, co := range snap.Companies {
		companies = append(companies, co.CompanyID)
	}
	if fmtList(sorted(companies...)) != fmtList(sorted(p.orgs[0].ID, p.orgs[1].ID, p.orgs[2].ID)) {
		t.Fatalf("org filter made companies %v", companies)
	}
	members := []string{p.users[1].ID, p.users[4].ID, p.users[5].ID, p.users[9].ID, p.users[13].ID, p.users[17].ID}
	if res.Created != 1+len(members) || len(snap.Contacts) != len(members) {
		t.Fatalf("org filter: %+v, %d contacts", res.BackfillProgress, len(snap.Contacts))
	}
	for _, id := range members {
		s.contact(id)
	}

	// user_ids: the user and its organizations (user 14: organizations 2,
	// which exists now, and 3).
	res, _ = s.runBackfill(workflows.BackfillInput{UserIDs: []string{p.users[14].ID}})
	if res.Total != 3 || res.Created != 2 || res.Unchanged != 1 {
		t.Fatalf("user filter: %+v", res.BackfillProgress)
	}
	if got := fmtList(s.companyIDsOf(s.contact(p.users[14].ID))); got != fmtList(sorted(p.orgs[2].ID, p.orgs[3].ID)) {
		t.Fatalf("user 14's companies = %s", got)
	}

	// Everything, then updated_since: only what changed in the database
	// since then is looked at. User 2 is edited in Intercom (not in the
	// database), user 3 in the database.
	s.runBackfill(workflows.BackfillInput{})
	s.requireIntercomMatchesDB(environment)
	ic := s.intercomClient()
	if _, err := ic.UpdateContact(context.Background(), s.contact(p.users[2].ID).ID, intercom.Fields{"name": "Edited in Intercom"}); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	changed := p.users[3]
	changed.FirstName, changed.UpdatedAtMs = "Renamed", changed.UpdatedAtMs+1000
	s.seed(clerksim.UserEvent(clerk.UserUpdated, changed))
	res, _ = s.runBackfill(workflows.BackfillInput{UpdatedSince: &since})
	if res.Total != 1 || res.Updated != 1 || s.contact(p.users[3].ID).Name != "Renamed 3" {
		t.Fatalf("updated_since: %+v", res.BackfillProgress)
	}
	if s.contact(p.users[2].ID).Name != "Edited in Intercom" {
		t.Fatal("updated_since looked at a user that did not change")
	}
	s.runBackfill(workflows.BackfillInput{})
	s.requireIntercomMatchesDB(environment)
}
