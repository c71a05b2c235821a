package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// seed applies Clerk events straight to the stack's database, as the
// webhook path's ApplyClerkEvent does, several at a time: big data sets
// load in seconds instead of a webhook round trip each.
func (s *stack) seed(bodies ...[]byte) {
	s.t.Helper()
	jobs := make(chan []byte)
	errs := make(chan error, len(bodies))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for body := range jobs {
				env, err := clerk.ParseEnvelope(body)
				if err != nil {
					errs <- err
					continue
				}
				_, entity, err := clerk.Route(env)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := s.store.ApplyClerkEvent(context.Background(), testenv.Name("seed_"), env.Type, entity, env.Data); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, b := range bodies {
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		s.t.Fatalf("seed: %v", err)
	}
}

// population is a seeded data set.
type population struct {
	orgs  []clerksim.Org
	users []clerksim.User
}

// seedPopulation seeds nOrgs organizations and nUsers users: user i is a
// member of organization i mod nOrgs, every fifth user of the next one
// too; every tenth user has no last name. Organizations are seeded in
// one pass, then users, then memberships, so the phases of a backfill
// find them all.
func (s *stack) seedPopulation(nOrgs, nUsers int) population {
	s.t.Helper()
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var p population
	var events [][]byte
	for i := range nOrgs {
		o := clerksim.Org{ID: s.id("org", fmt.Sprintf("%04d", i)), Name: fmt.Sprintf("Org %d", i),
			Slug: fmt.Sprintf("org-%d", i), CreatedAtMs: ms(t0.Add(time.Duration(i) * time.Hour)), UpdatedAtMs: ms(t0)}
		p.orgs = append(p.orgs, o)
		events = append(events, clerksim.OrgEvent(clerk.OrgCreated, o))
	}
	s.seed(events...)
	events = events[:0]
	var memberships [][]byte
	for i := range nUsers {
		u := clerksim.User{ID: s.id("user", fmt.Sprintf("%05d", i)), Email: fmt.Sprintf("user%d.%s@example.com", i, s.prefix[:6]),
			FirstName: "User", LastName: fmt.Sprint(i), CreatedAtMs: ms(t0.Add(time.Duration(i) * time.Minute)), UpdatedAtMs: ms(t0)}
		if i%10 == 9 {
			u.LastName = ""
		}
		p.users = append(p.users, u)
		events = append(events, clerksim.UserEvent(clerk.UserCreated, u))
		orgs := []clerksim.Org{p.orgs[i%nOrgs]}
		if i%5 == 4 && nOrgs > 1 {
			orgs = append(orgs, p.orgs[(i+1)%nOrgs])
		}
		for j, o := range orgs {
			memberships = append(memberships, clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{
				ID: s.id("orgmem", fmt.Sprintf("%05d_%d", i, j)), UserID: u.ID, Org: o, CreatedAtMs: u.CreatedAtMs, UpdatedAtMs: u.CreatedAtMs,
			}))
		}
	}
	s.seed(events...)
	s.seed(memberships...)
	return p
}

// runBackfill runs a Backfill on the stack's queue and returns its result.
func (s *stack) runBackfill(in workflows.BackfillInput) (workflows.BackfillResult, string) {
	s.t.Helper()
	run := s.startBackfill(in)
	return s.backfillResult(run), run.GetID()
}

func (s *stack) startBackfill(in workflows.BackfillInput) client.WorkflowRun {
	s.t.Helper()
	run, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.BackfillWorkflowID(environment, time.Now()) + "-" + testenv.Name(""), TaskQueue: s.queue,
	}, workflows.BackfillWorkflow, in)
	if err != nil {
		s.t.Fatal(err)
	}
	return run
}

func (s *stack) backfillResult(run client.WorkflowRun) workflows.BackfillResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var res workflows.BackfillResult
	if err := run.Get(ctx, &res); err != nil {
		s.t.Fatalf("backfill %s: %v", run.GetID(), err)
	}
	return res
}

// progress queries a running backfill.
func (s *stack) progress(wfID string) workflows.BackfillProgress {
	s.t.Helper()
	v, err := s.temporal.QueryWorkflow(context.Background(), wfID, "", workflows.BackfillProgressQuery)
	if err != nil {
		s.t.Fatalf("query progress of %s: %v", wfID, err)
	}
	var p workflows.BackfillProgress
	if err := v.Get(&p); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// intercomClient calls the stack's emulator as someone editing the
// workspace by hand would.
func (s *stack) intercomClient() *intercom.Client {
	return intercom.New(intercom.Options{BaseURL: s.cfg.IntercomAPIBaseURL, Token: intercomToken})
}

// requireIntercomMatchesDB checks that the emulator holds exactly what the
// database says, derived here with plain SQL (not the code under test):
// one company per live organization; one user contact per live user, with
// its fields and exactly its organizations' companies; one invited lead
// per pending invitation whose person has no user, tagged, attached to
// its organization's company; and nothing else.
func (s *stack) requireIntercomMatchesDB(env string) {
	t := s.t
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	query := func(sql string, scan func(pgx.Rows) error) {
		t.Helper()
		rows, err := db.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	type wantCompany struct {
		name    string
		created int64
	}
	orgs := map[string]wantCompany{}
	query(`SELECT id, name, clerk_created_at FROM organizations WHERE deleted_at IS NULL`, func(r pgx.Rows) error {
		var id string
		var c wantCompany
		err := r.Scan(&id, &c.name, &c.created)
		orgs[id] = c
		return err
	})
	type wantContact struct {
		role, email, name, status string
		signedUpAt                int64
		orgs                      []string
	}
	contacts := map[string]*wantContact{}
	query(`SELECT id, COALESCE(email, ''), first_name, last_name, clerk_created_at FROM users WHERE deleted_at IS NULL`, func(r pgx.Rows) error {
		var id, email string
		var first, last *string
		var created int64
		err := r.Scan(&id, &email, &first, &last, &created)
		contacts[id] = &wantContact{role: "user", email: email, name: clerk.FullName(first, last), status: activities.StatusActive,
			signedUpAt: created / 1000, orgs: []string{}}
		return err
	})
	query(`SELECT DISTINCT m.user_id, m.org_id FROM memberships m
		JOIN organizations o ON o.id = m.org_id AND o.deleted_at IS NULL
		JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
		WHERE m.deleted_at IS NULL`, func(r pgx.Rows) error {
		var userID, orgID string
		err := r.Scan(&userID, &orgID)
		contacts[userID].orgs = append(contacts[userID].orgs, orgID)
		return err
	})
	query(`SELECT i.id, i.email, i.org_id FROM invitations i WHERE i.status = 'pending' AND NOT EXISTS (
			SELECT 1 FROM users u WHERE u.deleted_at IS NULL AND (u.id = i.user_id OR lower(u.email) = lower(i.email)))`,
		func(r pgx.Rows) error {
			var id, email, orgID string
			err := r.Scan(&id, &email, &orgID)
			c := &wantContact{role: "user", email: email, status: activities.StatusInvited, orgs: []string{}}
			if _, live := orgs[orgID]; live {
				c.orgs = append(c.orgs, orgID)
			}
			contacts[activities.InvitedExternalID(id)] = c
			return err
		})

	snap := s.emulator.Snapshot()
	var problems []string
	fail := func(format string, args ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	companyOf := map[string]string{} // Intercom id → company_id
	seenCompanies := map[string]bool{}
	for _, co := range snap.Companies {
		companyOf[co.ID] = co.CompanyID
		want, ok := orgs[co.CompanyID]
		switch {
		case !ok:
			fail("company %s (%s) matches no live organization", co.CompanyID, co.ID)
		case seenCompanies[co.CompanyID]:
			fail("company %s twice", co.CompanyID)
		case co.Name != want.name || co.RemoteCreatedAt != want.created/1000 || co.CustomAttributes["environment"] != env:
			fail("company %s = %q remote_created_at %d %v, want %q remote_created_at %d environment %s",
				co.CompanyID, co.Name, co.RemoteCreatedAt, co.CustomAttributes, want.name, want.created/1000, env)
		}
		seenCompanies[co.CompanyID] = true
	}
	for id := range orgs {
		if !seenCompanies[id] {
			fail("organization %s has no company", id)
		}
	}
	tagNames := map[string]string{}
	for _, tg := range snap.Tags {
		tagNames[tg.ID] = tg.Name
	}
	seenContacts := map[string]bool{}
	live := 0
	for _, c := range snap.Contacts {
		if c.Archived || c.MergedInto != "" {
			continue
		}
		live++
		want, ok := contacts[c.ExternalID]
		if !ok {
			fail("contact %s (external_id %q) matches nothing in the database", c.ID, c.ExternalID)
			continue
		}
		if seenContacts[c.ExternalID] {
			fail("two contacts with external_id %s", c.ExternalID)
		}
		seenContacts[c.ExternalID] = true
		if c.Role != want.role || !strings.EqualFold(c.Email, want.email) || c.Name != want.name ||
			c.SignedUpAt != want.signedUpAt || c.CustomAttributes["environment"] != env || c.CustomAttributes["status"] != want.status {
			fail("contact %s = role %s email %q name %q signed_up_at %d attrs %v; want %+v", c.ExternalID, c.Role, c.Email, c.Name,
				c.SignedUpAt, c.CustomAttributes, *want)
		}
		var got []string
		for _, id := range c.CompanyIDs {
			got = append(got, companyOf[id])
		}
		slices.Sort(got)
		wantOrgs := slices.Sorted(slices.Values(want.orgs))
		if !slices.Equal(got, wantOrgs) && !(len(got) == 0 && len(wantOrgs) == 0) {
			fail("contact %s companies %v, want %v", c.ExternalID, got, wantOrgs)
		}
		invitedTag := slices.ContainsFunc(c.TagIDs, func(id string) bool { return tagNames[id] == activities.InvitedTag })
		if invitedTag != (want.status == activities.StatusInvited) {
			fail("contact %s tagged %s: %v", c.ExternalID, activities.InvitedTag, invitedTag)
		}
	}
	for _, ext := range slices.Sorted(maps.Keys(contacts)) {
		if !seenContacts[ext] {
			fail("no contact for %s", ext)
		}
	}
	if len(problems) > 0 {
		t.Fatalf("Intercom differs from the database (%d companies, %d live contacts for %d organizations and %d contacts wanted):\n  %s",
			len(snap.Companies), live, len(orgs), len(contacts), strings.Join(problems, "\n  "))
	}
}

// writesSince is the emulator's write count since before.
func writesSince(before emulator.Counters, em *emulator.Server) int64 {
	return em.Snapshot().Counters.Writes - before.Writes
}

// losingAnswers carries out a share of the calls and then loses their
// answers (a connection reset after Intercom did the work): the caller
// cannot tell whether the call happened and must repeat it safely.
type losingAnswers struct {
	next  http.RoundTripper
	share float64
	mu    sync.Mutex
	rng   *rand.Rand
	lost  atomic.Int64
}

func loseAnswers(share float64, seed uint64) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return &losingAnswers{next: next, share: share, rng: rand.New(rand.NewPCG(seed, seed))}
	}
}

func (l *losingAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	lose := l.rng.Float64() < l.share
	l.mu.Unlock()
	resp, err := l.next.RoundTrip(r)
	if err != nil || !lose {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.lost.Add(1)
	return nil, errors.New("connection reset by peer (answer lost after Intercom carried out the call)")
}

// searchLag waits out the emulator's default search lag (SearchIndexDelay,
// 2 s): what others wrote to Intercom is in its search after that.
const searchLag = 2*time.Second + 100*time.Millisecond
