package e2e

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/workflows"
)

const idle = 60 * time.Second

// A user's and an organization's whole life, one event type at a time,
// checked in Intercom after each step.
func TestEveryClerkEventTypeEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	org := clerksim.Org{ID: s.id("org", "acme"), Name: "Acme", Slug: "acme", CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0)}
	other := clerksim.Org{ID: s.id("org", "globex"), Name: "Globex", CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0)}
	user := clerksim.User{ID: s.id("user", "maya"), Email: "maya@example.com", FirstName: "Maya", LastName: "Okafor",
		CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0)}
	orgWF, userWF := workflows.OrgWorkflowID(org.ID), workflows.UserWorkflowID(user.ID)

	// organization.created → company.
	s.send("1", clerksim.OrgEvent(clerk.OrgCreated, org))
	s.waitIdle(idle, orgWF)
	co, ok := s.company(org.ID)
	if !ok {
		t.Fatal("no company after organization.created")
	}
	if co.Name != "Acme" || co.CustomAttributes["environment"] != environment || co.RemoteCreatedAt != t0.Unix() {
		t.Fatalf("company = %+v", co)
	}

	// user.created → contact with the mapped fields.
	s.send("2", clerksim.UserEvent(clerk.UserCreated, user))
	s.waitIdle(idle, userWF)
	c := s.contact(user.ID)
	if c.Role != "user" || c.Email != "maya@example.com" || c.Name != "Maya Okafor" ||
		c.SignedUpAt != t0.Unix() || c.CustomAttributes["environment"] != environment {
		t.Fatalf("contact = %+v", c)
	}

	// organizationMembership.created → attached (the second org is
	// created in Intercom from the membership's embedded organization).
	s.send("3", clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{ID: s.id("orgmem", "1"), UserID: user.ID, Org: org, CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0)}))
	s.send("4", clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{ID: s.id("orgmem", "2"), UserID: user.ID, Org: other, CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0)}))
	s.waitIdle(idle, userWF)
	if got := fmtList(s.companyIDsOf(s.contact(user.ID))); got != fmtList(sorted(org.ID, other.ID)) {
		t.Fatalf("companies = %s, want both", got)
	}

	// organizationMembership.updated (role change) keeps the attachment.
	s.send("5", clerksim.MembershipEvent(clerk.MembershipUpdated, clerksim.Membership{ID: s.id("orgmem", "1"), UserID: user.ID, Org: org, Role: "org:admin", CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0) + 1}))
	s.waitIdle(idle, userWF)
	// organizationMembership.deleted → detached.
	s.send("6", clerksim.MembershipEvent(clerk.MembershipDeleted, clerksim.Membership{ID: s.id("orgmem", "2"), UserID: user.ID, Org: other, CreatedAtMs: ms(t0), UpdatedAtMs: ms(t0)}))
	s.waitIdle(idle, userWF)
	if got := fmtList(s.companyIDsOf(s.contact(user.ID))); got != fmtList([]string{org.ID}) {
		t.Fatalf("companies after membership deletion = %s, want only %s", got, org.ID)
	}

	// organization.updated → company renamed.
	renamed := org
	renamed.Name, renamed.UpdatedAtMs = "Acme Robotics", ms(t0)+10
	s.send("7", clerksim.OrgEvent(clerk.OrgUpdated, renamed))
	s.waitIdle(idle, orgWF)
	if co, _ := s.company(org.ID); co.Name != "Acme Robotics" {
		t.Fatalf("company name = %q after organization.updated", co.Name)
	}

	// user.updated → contact updated in place (no second contact).
	changed := user
	changed.Email, changed.LastName, changed.UpdatedAtMs = "maya@acme.example", "", ms(t0)+10
	s.send("8", clerksim.UserEvent(clerk.UserUpdated, changed))
	s.waitIdle(idle, userWF)
	if c2 := s.contact(user.ID); c2.ID != c.ID || c2.Email != "maya@acme.example" || c2.Name != "Maya" {
		t.Fatalf("contact after update = %+v (was %s)", c2, c.ID)
	}

	// user.deleted → contact deleted; organization.deleted → company deleted.
	s.send("9", clerksim.DeletedEvent(clerk.UserDeleted, user.ID, "user"))
	s.send("10", clerksim.DeletedEvent(clerk.OrgDeleted, org.ID, "organization"))
	s.waitIdle(idle, userWF, orgWF)
	if n := len(s.contactsByExternalID(user.ID)); n != 0 {
		t.Fatalf("%d contacts left after user.deleted", n)
	}
	if _, ok := s.company(org.ID); ok {
		t.Fatal("company left after organization.deleted")
	}

	// A late user.updated after the deletion changes nothing.
	before := s.writes()
	late := changed
	late.UpdatedAtMs += 1000
	s.send("11", clerksim.UserEvent(clerk.UserUpdated, late))
	s.waitIdle(idle, userWF)
	if n := len(s.contactsByExternalID(user.ID)); n != 0 || s.writes() != before {
		t.Fatalf("late update after deletion: %d contacts, %d new writes", n, s.writes()-before)
	}
}

// The same svix-id delivered twice (Svix re-signs a retry with a fresh
// timestamp) makes one Intercom write, not two.
func TestRedeliveredEventMakesNoSecondWrite(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	user := clerksim.User{ID: s.id("user", "r"), Email: "r@example.com", FirstName: "R", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	body := clerksim.UserEvent(clerk.UserCreated, user)
	s.send("dup", body)
	s.waitIdle(idle, workflows.UserWorkflowID(user.ID))
	first := s.writes()
	if first == 0 {
		t.Fatal("first delivery wrote nothing")
	}
	time.Sleep(1100 * time.Millisecond) // a new svix-timestamp, so a new signature
	s.send("dup", body)
	s.waitIdle(idle, workflows.UserWorkflowID(user.ID))
	if got := s.writes(); got != first {
		t.Fatalf("redelivery made %d more writes", got-first)
	}
	s.contact(user.ID)
}

// An older user.updated arriving after a newer one changes nothing, in
// the database or in Intercom.
func TestStaleUpdateChangesNothing(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	id := s.id("user", "stale")
	newer := clerksim.User{ID: id, Email: "new@example.com", FirstName: "New", CreatedAtMs: 1e12, UpdatedAtMs: 1e12 + 2000}
	older := clerksim.User{ID: id, Email: "old@example.com", FirstName: "Old", CreatedAtMs: 1e12, UpdatedAtMs: 1e12 + 1000}
	s.send("new", clerksim.UserEvent(clerk.UserUpdated, newer))
	s.waitIdle(idle, workflows.UserWorkflowID(id))
	before := s.writes()
	s.send("old", clerksim.UserEvent(clerk.UserUpdated, older))
	s.waitIdle(idle, workflows.UserWorkflowID(id))
	if s.writes() != before {
		t.Fatalf("stale event made %d writes", s.writes()-before)
	}
	if c := s.contact(id); c.Email != "new@example.com" || c.Name != "New" {
		t.Fatalf("contact = %+v, want the newer state", c)
	}
}

// 20 updates of one user posted at once, in random order: Intercom ends
// with the newest, and one contact.
func TestConcurrentUpdatesLeaveTheNewestState(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	id := s.id("user", "c")
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := clerksim.User{ID: id, Email: fmt.Sprintf("v%02d@example.com", i), FirstName: fmt.Sprintf("V%02d", i),
				CreatedAtMs: 1e12, UpdatedAtMs: 1e12 + int64(i)}
			s.send(fmt.Sprintf("c%d", i), clerksim.UserEvent(clerk.UserUpdated, u))
		}(i)
	}
	wg.Wait()
	s.waitIdle(idle, workflows.UserWorkflowID(id))
	if c := s.contact(id); c.Email != fmt.Sprintf("v%02d@example.com", n-1) || c.Name != fmt.Sprintf("V%02d", n-1) {
		t.Fatalf("contact = %s / %s, want the newest v%02d", c.Email, c.Name, n-1)
	}
}

// With 30 % of Intercom calls failing (429s and 500s), every entity
// still converges, with no duplicate contact or company.
func TestConvergesUnderInjectedFaults(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{faults: emulator.Faults{ServerErrorRate: 0.15, RateLimitRate: 0.15, Seed: 7}})
	const orgs, users = 3, 8
	var wfIDs []string
	var orgIDs []string
	for i := 0; i < orgs; i++ {
		o := clerksim.Org{ID: s.id("org", fmt.Sprint(i)), Name: fmt.Sprintf("Org %d", i), CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
		orgIDs = append(orgIDs, o.ID)
		s.send("o"+fmt.Sprint(i), clerksim.OrgEvent(clerk.OrgCreated, o))
		wfIDs = append(wfIDs, workflows.OrgWorkflowID(o.ID))
	}
	for i := 0; i < users; i++ {
		u := clerksim.User{ID: s.id("user", fmt.Sprint(i)), Email: fmt.Sprintf("u%d@example.com", i), FirstName: "U",
			CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
		s.send("u"+fmt.Sprint(i), clerksim.UserEvent(clerk.UserCreated, u))
		o := clerksim.Org{ID: orgIDs[i%orgs], Name: fmt.Sprintf("Org %d", i%orgs), CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
		s.send("m"+fmt.Sprint(i), clerksim.MembershipEvent(clerk.MembershipCreated,
			clerksim.Membership{ID: s.id("orgmem", fmt.Sprint(i)), UserID: u.ID, Org: o, CreatedAtMs: 1e12, UpdatedAtMs: 1e12}))
		wfIDs = append(wfIDs, workflows.UserWorkflowID(u.ID))
	}
	s.waitIdle(3*time.Minute, wfIDs...)

	snap := s.emulator.Snapshot()
	if snap.Counters.FaultsInjected == 0 {
		t.Fatal("no faults were injected; the test proves nothing")
	}
	if len(snap.Companies) != orgs {
		t.Fatalf("%d companies, want %d", len(snap.Companies), orgs)
	}
	if len(snap.Contacts) != users {
		t.Fatalf("%d contacts, want %d (duplicates?)", len(snap.Contacts), users)
	}
	for i := 0; i < users; i++ {
		c := s.contact(s.id("user", fmt.Sprint(i)))
		if got := fmtList(s.companyIDsOf(c)); got != fmtList([]string{orgIDs[i%orgs]}) {
			t.Fatalf("user %d companies = %s", i, got)
		}
	}
	t.Logf("converged with %d injected faults over %d requests", snap.Counters.FaultsInjected, snap.Counters.Requests)
}

func sorted(v ...string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}
