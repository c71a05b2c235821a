package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// person is one invited person's four events.
type person struct {
	org                 clerksim.Org
	userID, invID, mail string
	events              map[string][]byte // by short name: C, A, U, M
}

func newPerson(s *stack, tag string, org clerksim.Org, inviteEmail, userEmail string) person {
	p := person{org: org, userID: s.id("user", tag), invID: s.id("orginv", tag), mail: userEmail}
	inv := clerksim.Invitation{ID: p.invID, OrgID: org.ID, Email: inviteEmail, Status: "pending", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	acc := inv
	acc.Status, acc.UserID, acc.UpdatedAtMs = "accepted", p.userID, 1e12+3000
	p.events = map[string][]byte{
		"C": clerksim.InvitationEvent(clerk.InvitationCreated, inv),
		"A": clerksim.InvitationEvent(clerk.InvitationAccepted, acc),
		"U": clerksim.UserEvent(clerk.UserCreated, clerksim.User{ID: p.userID, Email: userEmail, FirstName: "Dan",
			LastName: "Brandt", CreatedAtMs: 1e12 + 2000, UpdatedAtMs: 1e12 + 2000}),
		"M": clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{ID: s.id("orgmem", tag), UserID: p.userID,
			Org: org, CreatedAtMs: 1e12 + 3000, UpdatedAtMs: 1e12 + 3000}),
	}
	return p
}

func (p person) workflowIDs() []string {
	return []string{workflows.InviteWorkflowID(p.invID), workflows.UserWorkflowID(p.userID)}
}

// contactsOf returns the live contacts that are this person: by either
// external_id or by email.
func (s *stack) contactsOf(p person, emails ...string) []emulator.Contact {
	var out []emulator.Contact
	for _, c := range s.emulator.Snapshot().Contacts {
		if c.Archived || c.MergedInto != "" {
			continue
		}
		match := c.ExternalID == p.userID || c.ExternalID == activities.InvitedExternalID(p.invID)
		for _, e := range emails {
			match = match || strings.EqualFold(c.Email, e)
		}
		if match {
			out = append(out, c)
		}
	}
	return out
}

func (s *stack) tagNames(c emulator.Contact) []string {
	byID := map[string]string{}
	for _, t := range s.emulator.Snapshot().Tags {
		byID[t.ID] = t.Name
	}
	var names []string
	for _, id := range c.TagIDs {
		names = append(names, byID[id])
	}
	return names
}

// requireOneUserContact: exactly one contact for the person, the user's,
// active, untagged, signed up, attached to the organizations given.
func (s *stack) requireOneUserContact(t *testing.T, p person, orgIDs []string, emails ...string) emulator.Contact {
	t.Helper()
	cs := s.contactsOf(p, emails...)
	if len(cs) != 1 {
		t.Fatalf("%d contacts for the person, want 1: %+v", len(cs), cs)
	}
	c := cs[0]
	if c.ExternalID != p.userID || c.Role != "user" || c.CustomAttributes["status"] != activities.StatusActive || c.SignedUpAt == 0 {
		t.Fatalf("contact = %+v, want the active user contact", c)
	}
	for _, name := range s.tagNames(c) {
		if name == activities.InvitedTag {
			t.Fatalf("contact still tagged %s", name)
		}
	}
	if got := fmtList(s.companyIDsOf(c)); got != fmtList(sorted(orgIDs...)) {
		t.Fatalf("companies = %s, want %v", got, sorted(orgIDs...))
	}
	return c
}

func permutations(items []string) [][]string {
	if len(items) <= 1 {
		return [][]string{append([]string(nil), items...)}
	}
	var out [][]string
	for i := range items {
		rest := append(append([]string(nil), items[:i]...), items[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{items[i]}, p...))
		}
	}
	return out
}

// Every arrival order of invitation created / accepted, user.created and
// membership.created — each delivered twice — ends with one contact for
// the person: the user's, active, untagged, in the organization's company.
func TestInvitationEveryArrivalOrderEndsWithOneContact(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	org := clerksim.Org{ID: s.id("org", "inv"), Name: "Inviting Org", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	s.waitIdle(idle, workflows.OrgWorkflowID(org.ID))

	for i, order := range permutations([]string{"C", "A", "U", "M"}) {
		order := order
		t.Run(strings.Join(order, ""), func(t *testing.T) {
			t.Parallel()
			tag := fmt.Sprintf("p%d", i)
			email := tag + "@example.org"
			p := newPerson(s, tag, org, email, email)
			for _, name := range order {
				s.send(tag+name, p.events[name])
				s.send(tag+name, p.events[name]) // redelivered
				s.waitIdle(idle, p.workflowIDs()...)
			}
			s.requireOneUserContact(t, p, []string{org.ID}, email)
		})
	}
}

// All four events at once, twice each, concurrently.
func TestInvitationEventsAllAtOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	org := clerksim.Org{ID: s.id("org", "burst"), Name: "Burst", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	s.waitIdle(idle, workflows.OrgWorkflowID(org.ID))
	for i := 0; i < 5; i++ {
		tag := fmt.Sprintf("b%d", i)
		p := newPerson(s, tag, org, tag+"@example.org", tag+"@example.org")
		done := make(chan struct{})
		for _, name := range []string{"C", "A", "U", "M", "C", "A", "U", "M"} {
			go func(name string) { s.send(tag+name, p.events[name]); done <- struct{}{} }(name)
		}
		for j := 0; j < 8; j++ {
			<-done
		}
		s.waitIdle(idle, p.workflowIDs()...)
		s.waitIdle(idle, p.workflowIDs()...) // a refresh may have started the user's sync again
		s.requireOneUserContact(t, p, []string{org.ID}, tag+"@example.org")
	}
}

// Before acceptance the invited contact is a tagged lead with status
// "invited", in the organization's company, without activity timestamps;
// revoking deletes it and keeps the invitation row with its status.
func TestInvitedContactAndRevocation(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	org := clerksim.Org{ID: s.id("org", "rev"), Name: "Rev", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	p := newPerson(s, "rev", org, "rev@example.org", "rev@example.org")
	s.send("C", p.events["C"])
	s.waitIdle(idle, workflows.InviteWorkflowID(p.invID), workflows.OrgWorkflowID(org.ID))

	cs := s.contactsOf(p, "rev@example.org")
	if len(cs) != 1 {
		t.Fatalf("%d invited contacts", len(cs))
	}
	c := cs[0]
	if c.ExternalID != activities.InvitedExternalID(p.invID) || c.Email != "rev@example.org" ||
		c.CustomAttributes["status"] != activities.StatusInvited || c.CustomAttributes["environment"] != environment ||
		c.SignedUpAt != 0 || c.LastSeenAt != 0 || fmtList(s.tagNames(c)) != fmtList([]string{activities.InvitedTag}) ||
		fmtList(s.companyIDsOf(c)) != fmtList([]string{org.ID}) {
		t.Fatalf("invited contact = %+v (tags %v)", c, s.tagNames(c))
	}

	revoked := clerksim.Invitation{ID: p.invID, OrgID: org.ID, Email: "rev@example.org", Status: "revoked", CreatedAtMs: 1e12, UpdatedAtMs: 1e12 + 5000}
	s.send("R", clerksim.InvitationEvent(clerk.InvitationRevoked, revoked))
	s.send("R", clerksim.InvitationEvent(clerk.InvitationRevoked, revoked))
	s.waitIdle(idle, workflows.InviteWorkflowID(p.invID))
	if n := len(s.contactsOf(p, "rev@example.org")); n != 0 {
		t.Fatalf("%d contacts after revocation", n)
	}
	inv, err := s.store.Invitation(context.Background(), p.invID)
	if err != nil || inv.Status != store.InvitationRevoked {
		t.Fatalf("invitation row = %+v, %v; want it kept, revoked", inv, err)
	}
}

// A revocation after acceptance changes nothing on the user's contact.
func TestRevocationAfterAcceptanceLeavesTheUser(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	org := clerksim.Org{ID: s.id("org", "ra"), Name: "RA", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("org", clerksim.OrgEvent(clerk.OrgCreated, org))
	p := newPerson(s, "ra", org, "ra@example.org", "ra@example.org")
	for _, name := range []string{"C", "U", "A", "M"} {
		s.send(name, p.events[name])
		s.waitIdle(idle, p.workflowIDs()...)
	}
	before := s.requireOneUserContact(t, p, []string{org.ID}, "ra@example.org")
	writes := s.writes()
	revoked := clerksim.Invitation{ID: p.invID, OrgID: org.ID, Email: "ra@example.org", Status: "revoked", CreatedAtMs: 1e12, UpdatedAtMs: 1e12 + 9000}
	s.send("R", clerksim.InvitationEvent(clerk.InvitationRevoked, revoked))
	s.waitIdle(idle, p.workflowIDs()...)
	after := s.requireOneUserContact(t, p, []string{org.ID}, "ra@example.org")
	if after.ID != before.ID || s.writes() != writes {
		t.Fatalf("revocation after acceptance touched Intercom: %d writes, contact %s → %s", s.writes()-writes, before.ID, after.ID)
	}
}

// A user who already has a contact (a member of another organization),
// invited at another address: on acceptance the invited contact is removed
// and its company moves to the user's contact.
func TestAcceptanceByExistingUserMovesTheCompany(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	home := clerksim.Org{ID: s.id("org", "home"), Name: "Home", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	newOrg := clerksim.Org{ID: s.id("org", "new"), Name: "New", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("o1", clerksim.OrgEvent(clerk.OrgCreated, home))
	s.send("o2", clerksim.OrgEvent(clerk.OrgCreated, newOrg))
	p := newPerson(s, "ex", newOrg, "dan@work.example", "dan@home.example")
	s.send("U", p.events["U"])
	s.send("MH", clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{ID: s.id("orgmem", "home"),
		UserID: p.userID, Org: home, CreatedAtMs: 1e12, UpdatedAtMs: 1e12}))
	s.waitIdle(idle, workflows.UserWorkflowID(p.userID))
	s.send("C", p.events["C"])
	s.waitIdle(idle, p.workflowIDs()...)
	if n := len(s.contactsOf(p, "dan@work.example", "dan@home.example")); n != 2 {
		t.Fatalf("%d contacts before acceptance, want the user's and the invited one", n)
	}
	s.send("A", p.events["A"])
	s.waitIdle(idle, p.workflowIDs()...)
	s.waitIdle(idle, p.workflowIDs()...)
	// The new organization's company is on the user's contact already,
	// before its membership event arrives.
	s.requireOneUserContact(t, p, []string{home.ID, newOrg.ID}, "dan@work.example", "dan@home.example")
	s.send("M", p.events["M"])
	s.waitIdle(idle, p.workflowIDs()...)
	s.requireOneUserContact(t, p, []string{home.ID, newOrg.ID}, "dan@work.example", "dan@home.example")
}
