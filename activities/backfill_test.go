package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// The test environment's workflow id, under which failures are recorded.
const testWorkflowID = "default-test-workflow-id"

// backfill runs one batch over every entity of kind.
func (f *fixture) backfill(kind entity.Kind, dryRun bool) (activities.BackfillBatchResult, error) {
	v, err := f.env.ExecuteActivity(f.acts.BackfillBatch, activities.BackfillBatchRequest{
		Kind: kind.Plural(), After: "", UpTo: "\U0010FFFF", Environment: "test", DryRun: dryRun,
	})
	if err != nil {
		return activities.BackfillBatchResult{}, err
	}
	var res activities.BackfillBatchResult
	return res, v.Get(&res)
}

func (f *fixture) mustBackfill(kind entity.Kind) activities.BackfillBatchResult {
	f.t.Helper()
	res, err := f.backfill(kind, false)
	if err != nil {
		f.t.Fatalf("backfill %s: %v", kind, err)
	}
	return res
}

func (f *fixture) seedUsers(n int) []clerksim.User {
	f.t.Helper()
	f.apply("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	var users []clerksim.User
	for i := range n {
		u := clerksim.User{ID: fmt.Sprintf("user_%02d", i), Email: fmt.Sprintf("u%d@example.com", i), FirstName: "U",
			CreatedAtMs: 1_700_000_000_000, UpdatedAtMs: 1_700_000_000_000}
		f.apply("u"+u.ID, clerksim.UserEvent(clerk.UserCreated, u))
		f.apply("m"+u.ID, clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{ID: "orgmem_" + u.ID, UserID: u.ID,
			Org: org, CreatedAtMs: 1, UpdatedAtMs: 1}))
		users = append(users, u)
	}
	return users
}

func (f *fixture) contactIDs() []string {
	var ids []string
	for _, c := range f.em.Snapshot().Contacts {
		ids = append(ids, c.ExternalID)
	}
	slices.Sort(ids)
	return ids
}

// A retried batch skips the entities its last heartbeat says are done
// and carries the counts on.
func TestBackfillBatchResumesFromItsHeartbeat(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	users := f.seedUsers(4)
	f.mustBackfill(entity.Organization)
	f.env.SetHeartbeatDetails(map[string]any{
		"done":   []string{users[0].ID, users[2].ID},
		"result": map[string]any{"done": 2, "created": 2},
	})
	res := f.mustBackfill(entity.User)
	if got := fmt.Sprint(f.contactIDs()); got != fmt.Sprint([]string{users[1].ID, users[3].ID}) {
		t.Fatalf("contacts after the resumed batch: %s, want only the two not done", got)
	}
	if res.Done != 4 || res.Created != 4 {
		t.Fatalf("resumed batch result %+v, want the heartbeat's counts carried on", res.BackfillCounts)
	}
}

// An entity Intercom refuses is recorded (id and error) and the batch
// goes on; a second run writes nothing but what still fails.
func TestBackfillBatchRecordsAnEntityIntercomRefuses(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	users := f.seedUsers(3)
	bad := users[1]
	bad.Email, bad.UpdatedAtMs = "not-an-email", bad.UpdatedAtMs+1
	f.apply("bad", clerksim.UserEvent(clerk.UserUpdated, bad))
	f.mustBackfill(entity.Organization)
	res := f.mustBackfill(entity.User)
	if res.Done != 3 || res.Created != 2 || res.Failed != 1 || len(res.Failures) != 1 || res.Failures[0].EntityID != bad.ID {
		t.Fatalf("batch result %+v, failures %+v", res.BackfillCounts, res.Failures)
	}
	failures, err := f.acts.Store.BackfillFailures(context.Background(), testWorkflowID)
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 1 || failures[0].Kind != entity.User || failures[0].EntityID != bad.ID ||
		!strings.Contains(failures[0].Error, "400 Email address is invalid") {
		t.Fatalf("recorded failures %+v", failures)
	}
	writes := f.writes()
	res = f.mustBackfill(entity.User)
	if res.Unchanged != 2 || res.Failed != 1 {
		t.Fatalf("second batch %+v", res.BackfillCounts)
	}
	if w := f.writes() - writes; w != 1 { // the bad user's create, refused again
		t.Fatalf("second batch made %d writes, want 1", w)
	}
}

// A wrong token is no entity's fault: the batch fails, not retryable.
func TestBackfillBatchFailsOnAWrongToken(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.seedUsers(1)
	srv := httptest.NewServer(emulator.New(emulator.Options{Token: "right"}))
	t.Cleanup(srv.Close)
	f.acts.Intercom = intercom.New(intercom.Options{BaseURL: srv.URL, Token: "wrong"})
	_, err := f.backfill(entity.User, false)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeAuth || !appErr.NonRetryable() {
		t.Fatalf("batch error = %v, want a non-retryable %s", err, activities.ErrTypeAuth)
	}
}

// Rate limits are waited out inside the batch (paced on the headers, or
// after a 429): with more calls to make than a window allows, it takes
// two windows and no entity fails.
func TestBackfillBatchWaitsOutTheRateLimit(t *testing.T) {
	f := newFixture(t, emulator.Options{RateLimitPerMinute: 60}) // 10 calls per 10 s
	f.seedUsers(4)
	start := time.Now()
	f.mustBackfill(entity.Organization)
	res := f.mustBackfill(entity.User)
	c := f.em.Snapshot().Counters
	t.Logf("%s, %+v", time.Since(start), c)
	if res.Created != 4 || res.Failed != 0 || len(f.contactIDs()) != 4 {
		t.Fatalf("batch under the rate limit: %+v", res.BackfillCounts)
	}
	if c.Requests <= 10 {
		t.Fatalf("%d calls: the test needs more than a window's worth", c.Requests)
	}
}

// An invited contact is made for a pending invitation; when the person
// signs up, the user's contact takes it over: one contact, a user, the
// tag gone, the company kept.
func TestBackfillInvitationThenSignUp(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	inv := clerksim.Invitation{ID: "orginv_1", OrgID: org.ID, Email: "ada@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}
	f.apply("inv", clerksim.InvitationEvent(clerk.InvitationCreated, inv))
	f.mustBackfill(entity.Organization)
	f.mustBackfill(entity.User)
	if res := f.mustBackfill(entity.Invitation); res.Created != 1 {
		t.Fatalf("invitations batch %+v", res.BackfillCounts)
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 1 || snap.Contacts[0].Role != "user" || snap.Contacts[0].ExternalID != activities.InvitedExternalID(inv.ID) ||
		snap.Contacts[0].SignedUpAt != 0 || len(snap.Contacts[0].TagIDs) != 1 ||
		len(snap.Contacts[0].CompanyIDs) != 1 || snap.Contacts[0].CustomAttributes["status"] != activities.StatusInvited {
		t.Fatalf("invited contact = %+v", snap.Contacts)
	}
	writes := f.writes()
	if res := f.mustBackfill(entity.Invitation); res.Unchanged != 1 || f.writes() != writes {
		t.Fatalf("second invitations batch %+v, %d writes", res.BackfillCounts, f.writes()-writes)
	}

	f.apply("user", clerksim.UserEvent(clerk.UserCreated, user)) // ada@example.com
	f.mustBackfill(entity.User)
	f.mustBackfill(entity.Invitation)
	snap = f.em.Snapshot()
	if len(snap.Contacts) != 1 {
		t.Fatalf("%d contacts after sign-up, want the invited one taken over", len(snap.Contacts))
	}
	c := snap.Contacts[0]
	if c.Role != "user" || c.ExternalID != user.ID || len(c.TagIDs) != 0 || len(c.CompanyIDs) != 1 ||
		c.CustomAttributes["status"] != activities.StatusActive {
		t.Fatalf("contact after sign-up = %+v", c)
	}
}

// The Intercom client used by the fixture validates every call against
// the OpenAPI description, including the lists the backfill reads.
func TestBackfillReadsAreValidCalls(t *testing.T) {
	f := newFixture(t, emulator.Options{Loose: emulator.Loose{NoSearchLag: true}}) // reads right after writes
	f.seedUsers(2)
	ctx := context.Background()
	ic := intercom.New(intercom.Options{BaseURL: f.emURL, Token: "tok",
		Transport: contract.NewValidatingTransport(t, http.DefaultTransport)})
	f.mustBackfill(entity.Organization)
	f.mustBackfill(entity.User)
	list, err := ic.ListCompanies(ctx, 1, intercom.MaxCompaniesPerPage)
	if err != nil || list.TotalCount != 1 || list.Pages.TotalPages != 1 || list.Data[0].CompanyID != org.ID {
		t.Fatalf("ListCompanies = %+v, %v", list, err)
	}
	contacts, err := ic.ContactsByExternalIDs(ctx, []string{"user_00", "user_01", "nobody"})
	if err != nil || len(contacts) != 2 {
		t.Fatalf("ContactsByExternalIDs = %d contacts, %v", len(contacts), err)
	}
	ids, err := ic.ContactCompanyIDs(ctx, contacts[0].ID)
	if err != nil || len(ids) != 1 || ids[0] != list.Data[0].ID {
		t.Fatalf("ContactCompanyIDs = %v, %v", ids, err)
	}
}

// The pushes and the backfill record the same sync state for the same
// Intercom record (one target per kind, sync_state.go). Pushed first, a
// backfill finds every entity unchanged and neither writes to Intercom nor
// changes the state; backfilled first, a push skips Intercom entirely. If
// the two drifted apart, one of the orders would rewrite everything.
func TestPushAndBackfillRecordTheSameSyncState(t *testing.T) {
	inv := clerksim.Invitation{ID: "orginv_1", OrgID: org.ID, Email: "grace@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}
	seed := func(f *fixture) {
		f.apply("org", clerksim.OrgEvent(clerk.OrgCreated, org))
		f.apply("user", clerksim.UserEvent(clerk.UserCreated, user))
		f.apply("mem", clerksim.MembershipEvent(clerk.MembershipCreated, membership))
		f.apply("inv", clerksim.InvitationEvent(clerk.InvitationCreated, inv))
	}
	entities := []struct {
		push func(*fixture) any
		kind entity.Kind
		id   string
	}{
		{func(f *fixture) any { return f.acts.PushOrg }, entity.Organization, org.ID},
		{func(f *fixture) any { return f.acts.PushUser }, entity.User, user.ID},
		{func(f *fixture) any { return f.acts.PushInvitation }, entity.Invitation, inv.ID},
	}
	states := func(f *fixture) []store.SyncState {
		var all []store.SyncState
		for _, e := range entities {
			st, err := f.acts.Store.SyncState(context.Background(), e.kind, e.id)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, st)
		}
		return all
	}

	t.Run("push then backfill", func(t *testing.T) {
		f := newFixture(t, emulator.Options{})
		seed(f)
		for _, e := range entities {
			f.mustPush(e.push(f), e.id)
		}
		pushed, writes := states(f), f.writes()
		for _, e := range entities {
			if res := f.mustBackfill(e.kind); res.Unchanged != 1 || res.Done != 1 {
				t.Errorf("backfill of %s after the push: %+v, want it unchanged", e.kind, res.BackfillCounts)
			}
		}
		if w := f.writes() - writes; w != 0 {
			t.Errorf("the backfill after the pushes wrote %d times to Intercom", w)
		}
		if got := states(f); fmt.Sprint(got) != fmt.Sprint(pushed) {
			t.Errorf("the backfill rewrote the sync state:\n pushed   %+v\n backfill %+v", pushed, got)
		}
	})
	t.Run("backfill then push", func(t *testing.T) {
		f := newFixture(t, emulator.Options{})
		seed(f)
		for _, e := range entities {
			if res := f.mustBackfill(e.kind); res.Created != 1 {
				t.Fatalf("backfill of %s: %+v, want it created", e.kind, res.BackfillCounts)
			}
		}
		writes := f.writes()
		for _, e := range entities {
			if res := f.mustPush(e.push(f), e.id); res.Outcome != activities.OutcomeUnchanged {
				t.Errorf("push of %s after the backfill: %+v, want unchanged", e.id, res)
			}
		}
		if w := f.writes() - writes; w != 0 {
			t.Errorf("the pushes after the backfill wrote %d times to Intercom", w)
		}
	})
}

// Invited contacts made by earlier versions were leads, which Intercom
// keeps without their external_id: search cannot find them, the sync
// state's id can. The backfill makes a pending invitation's lead the
// invited user (one contact, not a second), and deletes a revoked one's.
func TestBackfillConvertsOrRemovesInvitedLeadsOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, emulator.Options{})
	f.apply("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	pending := clerksim.Invitation{ID: "orginv_1", OrgID: org.ID, Email: "grace@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}
	revoked := clerksim.Invitation{ID: "orginv_2", OrgID: org.ID, Email: "alan@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}
	f.apply("i1", clerksim.InvitationEvent(clerk.InvitationCreated, pending))
	f.apply("i2", clerksim.InvitationEvent(clerk.InvitationCreated, revoked))
	revoked.Status, revoked.UpdatedAtMs = "revoked", 2
	f.apply("i2r", clerksim.InvitationEvent(clerk.InvitationRevoked, revoked))
	// What an earlier version left: leads without external_id, recorded.
	for _, inv := range []clerksim.Invitation{pending, revoked} {
		lead, err := f.acts.Intercom.CreateContact(ctx, intercom.Fields{"role": "lead", "email": inv.Email})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.acts.Store.SaveSyncState(ctx, entity.Invitation, inv.ID, store.SyncState{IntercomID: lead.ID, Hash: "earlier"}); err != nil {
			t.Fatal(err)
		}
	}
	f.mustBackfill(entity.Organization)
	res := f.mustBackfill(entity.Invitation)
	if res.Updated != 1 || res.Deleted != 1 || res.Created != 0 {
		t.Fatalf("invitations batch %+v, want the pending lead updated and the revoked one deleted", res.BackfillCounts)
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 1 {
		t.Fatalf("contacts = %+v, want the pending invitation's only", snap.Contacts)
	}
	c := snap.Contacts[0]
	if c.Role != "user" || c.ExternalID != activities.InvitedExternalID(pending.ID) || c.Email != pending.Email ||
		len(c.TagIDs) != 1 || len(c.CompanyIDs) != 1 {
		t.Fatalf("invited contact = %+v, want the lead made the invited user", c)
	}
	writes := f.writes()
	if res := f.mustBackfill(entity.Invitation); res.Unchanged != 2 || f.writes() != writes {
		t.Fatalf("second batch %+v, %d writes", res.BackfillCounts, f.writes()-writes)
	}
}

// scan runs ScanCompanies for a backfill over n organizations.
func (f *fixture) scan(n int) activities.ScanCompaniesResult {
	f.t.Helper()
	return mustRun[activities.ScanCompaniesResult](f, f.acts.ScanCompanies, activities.ScanCompaniesRequest{Organizations: n})
}

// GET /companies leaves out companies without users (and stops at
// 10,000): a snapshot built from it misses them, and a deleted
// organization's company that no sync state records would stay. The scan
// scrolls, which lists every company.
func TestBackfillDeletesACompanyWithoutUsersThatOnlyScrollLists(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, emulator.Options{})
	gone := clerksim.Org{ID: "org_gone", Name: "Gone", CreatedAtMs: 1, UpdatedAtMs: 1}
	f.apply("g1", clerksim.OrgEvent(clerk.OrgCreated, gone))
	f.apply("g2", clerksim.DeletedEvent(clerk.OrgDeleted, gone.ID, "organization"))
	// Made by an earlier deployment: Intercom has it, no sync state does.
	if _, err := f.acts.Intercom.UpsertCompany(ctx, intercom.Fields{"company_id": gone.ID, "name": gone.Name}); err != nil {
		t.Fatal(err)
	}
	if scan := f.scan(1); !scan.Snapshot || scan.Companies != 1 {
		t.Fatalf("scan = %+v, want the company without users in the snapshot", scan)
	}
	v, err := f.env.ExecuteActivity(f.acts.BackfillBatch, activities.BackfillBatchRequest{Kind: entity.Organization.Plural(),
		UpTo: "\U0010FFFF", Environment: "test", CompanySnapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.BackfillBatchResult
	if err := v.Get(&res); err != nil || res.Deleted != 1 {
		t.Fatalf("batch %+v, %v: want the company deleted", res.BackfillCounts, err)
	}
	if cs := f.em.Snapshot().Companies; len(cs) != 0 {
		t.Fatalf("companies = %+v", cs)
	}
}

// A contact embeds at most 10 tags (has_more, total_count): an invited
// contact whose invited-user tag is its 11th still reads as tagged, and a
// second backfill writes nothing.
func TestBackfillReadsAContactsTagsInFull(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, emulator.Options{})
	f.apply("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	inv := clerksim.Invitation{ID: "orginv_1", OrgID: org.ID, Email: "grace@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}
	f.apply("inv", clerksim.InvitationEvent(clerk.InvitationCreated, inv))
	f.mustBackfill(entity.Organization)
	f.mustBackfill(entity.Invitation)
	c := f.em.Snapshot().Contacts[0]
	invitedTag := c.TagIDs[0]
	// Ten other tags first, then the invited-user tag again: the 11th.
	if err := f.acts.Intercom.UntagContact(ctx, c.ID, invitedTag); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		tag, err := f.acts.Intercom.CreateTag(ctx, fmt.Sprintf("agent-tag-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.acts.Intercom.TagContact(ctx, c.ID, tag.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.acts.Intercom.TagContact(ctx, c.ID, invitedTag); err != nil {
		t.Fatal(err)
	}
	got, err := f.acts.Intercom.GetContact(ctx, c.ID)
	if err != nil || got.TagIDsComplete() || slices.ContainsFunc(got.Tags.Data, func(r intercom.Ref) bool { return r.ID == invitedTag }) {
		t.Fatalf("the test needs the invited-user tag beyond the embedded 10: %+v, %v", got.Tags, err)
	}
	time.Sleep(2100 * time.Millisecond) // search shows the contact's tags as they are now
	writes := f.writes()
	if res := f.mustBackfill(entity.Invitation); res.Unchanged != 1 || f.writes() != writes {
		t.Fatalf("second batch %+v, %d writes: the 11th tag was not read", res.BackfillCounts, f.writes()-writes)
	}
}

// A 408 is transient, as the official SDKs treat it: the backfill's
// patient calls retry it, and no entity is recorded as failed (a 408
// taken for a client error would fail them).
func TestBackfillRetries408(t *testing.T) {
	f := newFixture(t, emulator.Options{Faults: emulator.Faults{TimeoutRate: 0.3, Seed: 7}})
	f.seedUsers(6)
	f.mustBackfill(entity.Organization)
	res := f.mustBackfill(entity.User)
	if res.Created != 6 || res.Failed != 0 {
		t.Fatalf("batch under 408s: %+v", res.BackfillCounts)
	}
	if n := f.em.Snapshot().Counters.FaultsInjected; n == 0 {
		t.Fatal("no 408 was injected: the test proves nothing")
	}
}
