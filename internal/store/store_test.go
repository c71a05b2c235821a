package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// data extracts the envelope's data, as the webhook handler does.
func data(t *testing.T, body []byte) []byte {
	t.Helper()
	env, err := clerk.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	return env.Data
}

func apply(t *testing.T, s *store.Store, svixID, typ, entity string, body []byte) store.ApplyResult {
	t.Helper()
	res, err := s.ApplyClerkEvent(context.Background(), svixID, typ, entity, data(t, body))
	if err != nil {
		t.Fatalf("apply %s %s: %v", typ, svixID, err)
	}
	return res
}

func TestMigrateIsRepeatable(t *testing.T) {
	s, _ := testenv.Store(t)
	applied, err := s.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
}

func TestUserUpsertIsGuardedByUpdatedAt(t *testing.T) {
	s, _ := testenv.Store(t)
	ctx := context.Background()
	u := clerksim.User{ID: "user_a", Email: "a@example.com", FirstName: "Ada", CreatedAtMs: 1000, UpdatedAtMs: 2000}

	if r := apply(t, s, "msg_1", clerk.UserCreated, u.ID, clerksim.UserEvent(clerk.UserCreated, u)); !r.Changed || r.Duplicate {
		t.Fatalf("first event: %+v, want changed", r)
	}
	// Same delivery again (a redelivery): recognised, nothing written.
	if r := apply(t, s, "msg_1", clerk.UserCreated, u.ID, clerksim.UserEvent(clerk.UserCreated, u)); !r.Duplicate || r.Changed {
		t.Fatalf("redelivery: %+v, want duplicate", r)
	}
	newer := u
	newer.FirstName, newer.UpdatedAtMs = "Adele", 3000
	if r := apply(t, s, "msg_3", clerk.UserUpdated, u.ID, clerksim.UserEvent(clerk.UserUpdated, newer)); !r.Changed {
		t.Fatalf("newer update: %+v, want changed", r)
	}
	older := u
	older.FirstName, older.UpdatedAtMs = "Stale", 2500
	if r := apply(t, s, "msg_2", clerk.UserUpdated, u.ID, clerksim.UserEvent(clerk.UserUpdated, older)); r.Changed || r.Duplicate {
		t.Fatalf("older update: %+v, want unchanged", r)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName == nil || *got.FirstName != "Adele" || got.UpdatedAtMs != 3000 {
		t.Fatalf("user = %+v, want the newest (Adele, 3000)", got)
	}
	// The primary address is chosen by id, not position (clerksim puts it second).
	if got.Email != "a@example.com" {
		t.Fatalf("email = %q, want the primary address", got.Email)
	}
}

func TestDeletionWinsOverLateUpserts(t *testing.T) {
	s, _ := testenv.Store(t)
	ctx := context.Background()
	u := clerksim.User{ID: "user_d", Email: "d@example.com", CreatedAtMs: 1, UpdatedAtMs: 5}
	// Deleted before we ever saw it created: the tombstone must hold.
	if r := apply(t, s, "m_del", clerk.UserDeleted, u.ID, clerksim.DeletedEvent(clerk.UserDeleted, u.ID, "user")); !r.Changed {
		t.Fatalf("delete: %+v", r)
	}
	if r := apply(t, s, "m_new", clerk.UserCreated, u.ID, clerksim.UserEvent(clerk.UserCreated, u)); r.Changed {
		t.Fatalf("late user.created after deletion changed the row: %+v", r)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Deleted {
		t.Fatalf("user resurrected: %+v", got)
	}
	// Deleting again is a no-op.
	if r := apply(t, s, "m_del2", clerk.UserDeleted, u.ID, clerksim.DeletedEvent(clerk.UserDeleted, u.ID, "user")); r.Changed {
		t.Fatalf("second delete changed something: %+v", r)
	}
}

func TestMembershipsDecideOrganizations(t *testing.T) {
	s, _ := testenv.Store(t)
	ctx := context.Background()
	u := clerksim.User{ID: "user_m", Email: "m@example.com", CreatedAtMs: 1, UpdatedAtMs: 1}
	apply(t, s, "u1", clerk.UserCreated, u.ID, clerksim.UserEvent(clerk.UserCreated, u))
	orgA := clerksim.Org{ID: "org_a", Name: "A", CreatedAtMs: 1, UpdatedAtMs: 1}
	orgB := clerksim.Org{ID: "org_b", Name: "B", CreatedAtMs: 1, UpdatedAtMs: 1}
	mA := clerksim.Membership{ID: "mem_a", UserID: u.ID, Org: orgA, CreatedAtMs: 1, UpdatedAtMs: 1}
	mB := clerksim.Membership{ID: "mem_b", UserID: u.ID, Org: orgB, CreatedAtMs: 1, UpdatedAtMs: 1}

	// mem_b's deletion arrives before its creation.
	apply(t, s, "b_del", clerk.MembershipDeleted, u.ID, clerksim.MembershipEvent(clerk.MembershipDeleted, mB))
	apply(t, s, "a_new", clerk.MembershipCreated, u.ID, clerksim.MembershipEvent(clerk.MembershipCreated, mA))
	if r := apply(t, s, "b_new", clerk.MembershipCreated, u.ID, clerksim.MembershipEvent(clerk.MembershipCreated, mB)); r.Changed {
		t.Fatalf("membership created after its deletion changed state: %+v", r)
	}
	got, _ := s.User(ctx, u.ID)
	if fmt.Sprint(got.OrgIDs) != "[org_a]" {
		t.Fatalf("orgs = %v, want [org_a]", got.OrgIDs)
	}
	// The membership's embedded organization was stored.
	o, err := s.Org(ctx, "org_a")
	if err != nil || o.Name != "A" {
		t.Fatalf("org_a = %+v, %v", o, err)
	}
	// Deleting the organization drops it from the user's organizations.
	apply(t, s, "orga_del", clerk.OrgDeleted, "org_a", clerksim.DeletedEvent(clerk.OrgDeleted, "org_a", "organization"))
	got, _ = s.User(ctx, u.ID)
	if len(got.OrgIDs) != 0 {
		t.Fatalf("orgs after org deletion = %v, want none", got.OrgIDs)
	}
}

func TestUnusableEventIsBadEvent(t *testing.T) {
	s, _ := testenv.Store(t)
	_, err := s.ApplyClerkEvent(context.Background(), "bad1", clerk.UserUpdated, "x", []byte(`{"first_name":"no id"}`))
	if !store.IsBadEvent(err) {
		t.Fatalf("err = %v, want a bad-event error", err)
	}
	// A bad event is not recorded as applied: the transaction rolled back.
	res, err := s.ApplyClerkEvent(context.Background(), "bad1", clerk.UserUpdated, "x",
		data(t, clerksim.UserEvent(clerk.UserUpdated, clerksim.User{ID: "x", UpdatedAtMs: 1})))
	if err != nil || res.Duplicate {
		t.Fatalf("after a rolled-back bad event: %+v, %v", res, err)
	}
}

func TestConcurrentUpdatesKeepTheNewest(t *testing.T) {
	s, _ := testenv.Store(t)
	const n = 20
	order := rand.Perm(n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, i := range order {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := clerksim.User{ID: "user_c", Email: fmt.Sprintf("v%d@example.com", i), CreatedAtMs: 1, UpdatedAtMs: int64(100 + i)}
			_, err := s.ApplyClerkEvent(context.Background(), fmt.Sprintf("c%d", i), clerk.UserUpdated, u.ID,
				data(t, clerksim.UserEvent(clerk.UserUpdated, u)))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.User(context.Background(), "user_c")
	if got.Email != fmt.Sprintf("v%d@example.com", n-1) {
		t.Fatalf("email = %s, want the newest v%d", got.Email, n-1)
	}
}

func TestSyncStateRoundTrip(t *testing.T) {
	s, _ := testenv.Store(t)
	ctx := context.Background()
	st, err := s.SyncState(ctx, entity.User, "nobody")
	if err != nil || st.IntercomID != "" {
		t.Fatalf("missing state = %+v, %v", st, err)
	}
	want := store.SyncState{IntercomID: "abc", Hash: "h", AttachedOrgIDs: []string{"org_1"}}
	if err := s.SaveSyncState(ctx, entity.User, "u", want); err != nil {
		t.Fatal(err)
	}
	got, _ := s.SyncState(ctx, entity.User, "u")
	if got.IntercomID != "abc" || got.Hash != "h" || fmt.Sprint(got.AttachedOrgIDs) != "[org_1]" || got.Deleted {
		t.Fatalf("state = %+v", got)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(nobody) err = %v", err)
	}
}

// A notification id is claimed once: the claiming run keeps its claim on
// a retry, any other run sees a redelivery; concurrent claims have one
// winner.
func TestClaimIntercomNotification(t *testing.T) {
	s, _ := testenv.Store(t)
	ctx := context.Background()
	claim := func(id, run string) bool {
		t.Helper()
		first, err := s.ClaimIntercomNotification(ctx, id, "conversation.user.replied", "contact_1", run)
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !claim("notif_1", "run-a") {
		t.Fatal("first claim lost")
	}
	if !claim("notif_1", "run-a") {
		t.Fatal("the same run's retry lost its claim")
	}
	if claim("notif_1", "run-b") {
		t.Fatal("another run won a claimed notification")
	}
	if !claim("notif_2", "run-b") {
		t.Fatal("a new notification was not claimable")
	}

	var wg sync.WaitGroup
	wins := make(chan string, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(run string) {
			defer wg.Done()
			first, err := s.ClaimIntercomNotification(ctx, "notif_race", "t", "c", run)
			if err != nil {
				t.Error(err)
				return
			}
			if first {
				wins <- run
			}
		}(fmt.Sprintf("run-%d", i))
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Fatalf("%d runs won the same notification, want 1", n)
	}
}
