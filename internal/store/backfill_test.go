package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// What each filter selects, in keyset pages, with tombstones.
func TestBackfillFiltersAndPages(t *testing.T) {
	s, _ := testenv.Store(t)
	ctx := context.Background()
	n := 0
	ev := func(typ, entity string, body []byte) {
		n++
		apply(t, s, fmt.Sprint("svix_", n), typ, entity, body)
	}
	o1 := clerksim.Org{ID: "org_1", Name: "One", CreatedAtMs: 1, UpdatedAtMs: 1}
	o2 := clerksim.Org{ID: "org_2", Name: "Two", CreatedAtMs: 1, UpdatedAtMs: 1}
	o3 := clerksim.Org{ID: "org_3", Name: "Three", CreatedAtMs: 1, UpdatedAtMs: 1}
	for _, o := range []clerksim.Org{o1, o2, o3} {
		ev(clerk.OrgCreated, o.ID, clerksim.OrgEvent(clerk.OrgCreated, o))
	}
	for i := 1; i <= 4; i++ {
		u := clerksim.User{ID: fmt.Sprint("user_", i), Email: fmt.Sprintf("u%d@example.com", i), CreatedAtMs: 1, UpdatedAtMs: 1}
		ev(clerk.UserCreated, u.ID, clerksim.UserEvent(clerk.UserCreated, u))
	}
	mem := func(typ, id, user string, o clerksim.Org) {
		ev(typ, user, clerksim.MembershipEvent(typ, clerksim.Membership{ID: id, UserID: user, Org: o, CreatedAtMs: 1, UpdatedAtMs: 1}))
	}
	mem(clerk.MembershipCreated, "m1", "user_1", o1)
	mem(clerk.MembershipCreated, "m2", "user_2", o2)
	mem(clerk.MembershipCreated, "m3", "user_2", o1)
	mem(clerk.MembershipDeleted, "m3", "user_2", o1) // ended: user_2 is no longer in org_1
	mem(clerk.MembershipCreated, "m4", "user_2", o3)
	ev(clerk.OrgDeleted, "org_3", clerksim.DeletedEvent(clerk.OrgDeleted, "org_3", "organization"))
	ev(clerk.UserDeleted, "user_3", clerksim.DeletedEvent(clerk.UserDeleted, "user_3", "user"))
	ev(clerk.InvitationCreated, "inv_1", clerksim.InvitationEvent(clerk.InvitationCreated,
		clerksim.Invitation{ID: "inv_1", OrgID: "org_1", Email: "U4@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}))
	ev(clerk.InvitationCreated, "inv_2", clerksim.InvitationEvent(clerk.InvitationCreated,
		clerksim.Invitation{ID: "inv_2", OrgID: "org_3", Email: "new@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}))

	ids := func(kind entity.Kind, f store.BackfillFilter) string {
		t.Helper()
		var out []string
		for after := ""; ; {
			upTo, n, err := s.BackfillRange(ctx, kind, f, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			count, err := s.BackfillCount(ctx, kind, f)
			if err != nil || count < n {
				t.Fatalf("count %d, %v", count, err)
			}
			switch kind {
			case entity.Organization:
				orgs, err := s.BackfillOrgs(ctx, f, after, upTo)
				if err != nil || len(orgs) != n {
					t.Fatalf("page (%s, %s]: %d orgs, %v", after, upTo, len(orgs), err)
				}
				for _, o := range orgs {
					out = append(out, o.ID)
				}
			case entity.User:
				users, err := s.BackfillUsers(ctx, f, after, upTo)
				if err != nil || len(users) != n {
					t.Fatalf("page (%s, %s]: %d users, %v", after, upTo, len(users), err)
				}
				for _, u := range users {
					out = append(out, fmt.Sprintf("%s%v", u.ID, u.OrgIDs))
				}
			default:
				invs, err := s.BackfillInvitations(ctx, f, after, upTo)
				if err != nil || len(invs) != n {
					t.Fatalf("page (%s, %s]: %d invitations, %v", after, upTo, len(invs), err)
				}
				for _, i := range invs {
					out = append(out, fmt.Sprintf("%s(%s,%v)", i.ID, i.PersonUserID, i.OrgDeleted))
				}
			}
			after = upTo
		}
		return fmt.Sprint(out)
	}
	check := func(kind entity.Kind, f store.BackfillFilter, want string) {
		t.Helper()
		if got := ids(kind, f); got != want {
			t.Errorf("%s under %+v = %s, want %s", kind, f, got, want)
		}
	}
	all := store.BackfillFilter{}
	check(entity.Organization, all, "[org_1 org_2 org_3]")
	// Live memberships of live organizations only; tombstones included.
	check(entity.User, all, "[user_1[org_1] user_2[org_2] user_3[] user_4[]]")
	check(entity.Invitation, all, "[inv_1(user_4,false) inv_2(,true)]")

	byOrg := store.BackfillFilter{OrgIDs: []string{"org_1"}}
	check(entity.Organization, byOrg, "[org_1]")
	check(entity.User, byOrg, "[user_1[org_1] user_2[org_2]]") // user_2 left org_1: it must be detached
	check(entity.Invitation, byOrg, "[inv_1(user_4,false)]")

	byUser := store.BackfillFilter{UserIDs: []string{"user_2"}}
	check(entity.Organization, byUser, "[org_1 org_2 org_3]")
	check(entity.User, byUser, "[user_2[org_2]]")
	check(entity.Invitation, byUser, "[]")

	since := time.Now()
	time.Sleep(10 * time.Millisecond)
	u4 := clerksim.User{ID: "user_4", Email: "u4@example.com", FirstName: "Four", CreatedAtMs: 1, UpdatedAtMs: 2}
	ev(clerk.UserUpdated, u4.ID, clerksim.UserEvent(clerk.UserUpdated, u4))
	mem(clerk.MembershipDeleted, "m1", "user_1", o1)
	recent := store.BackfillFilter{UpdatedSince: &since}
	check(entity.Organization, recent, "[]") // the membership event carries org_1, unchanged
	check(entity.User, recent, "[user_1[] user_4[]]")
	check(entity.Invitation, recent, "[]")
}
