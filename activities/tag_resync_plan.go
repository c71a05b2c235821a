package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
)

// The tag-based re-sync's plan (PrepareResyncContact): which contact
// carries the member data, and which duplicates fold into it.

// ResyncContactRequest names the member (and, for the update, the contact)
// of a re-sync step.
type ResyncContactRequest struct {
	MemberNumber string `json:"member_number"`
	ContactID    string `json:"contact_id,omitempty"`
	// ConversationID is the tagged conversation (for the plan): its
	// contacts are never archived, or the agent's conversation would
	// vanish from the inbox with them.
	ConversationID string `json:"conversation_id,omitempty"`
}

// ResyncPlan is the contact the member's data goes to and the duplicates
// to fold into it. Recorded in the history, it fixes the ids every later
// step works on, so a retried step cannot pick another survivor.
type ResyncPlan struct {
	// Outcome is ResyncReady, or why there is nothing to do (the member
	// changed in the member database since the lookup).
	Outcome   ResyncOutcome `json:"outcome"`
	ContactID string        `json:"contact_id,omitempty"`
	// How the contact was found.
	How ContactOrigin `json:"how,omitempty"`
	// FieldsWritten: the member data was written while making the
	// contact, so no update is needed unless something was folded in.
	FieldsWritten bool     `json:"fields_written,omitempty"`
	MergeLeads    []string `json:"merge_leads,omitempty"`
	ArchiveUsers  []string `json:"archive_users,omitempty"`
}

// PrepareResyncContact finds the member's contacts by email and decides
// which one carries the member data:
//
//   - the survivor is a user: one with an external_id if any (another sync,
//     the Clerk one, addresses its contact by that id, so archiving it would
//     cut that link), then the most recently updated, then the most recently
//     created. The other users with the email are archived, not deleted, so
//     their history stays reachable; except those with an external_id
//     (this service's users, or another system's) and the contacts of the
//     tagged conversation (archiving hides a contact's conversations);
//   - without a user, the most recently updated lead is made the user
//     (PUT role=user with the member data): it keeps its id and
//     conversations;
//   - without any contact, a user is created with the member data;
//   - the other leads are merged into the survivor. Leads that stand for a
//     pending invitation (external_id invitation_…), users since this
//     version and leads before, are left alone: InviteContact owns them
//     and folds them into the user when the invitation is accepted.
//
// Search is eventually consistent: a contact created moments ago may be
// missing from it, and then creating (or converting) answers 409 naming
// it. That contact becomes the survivor (unarchived first if it is
// archived). Running this twice finds the survivor the first run made or
// chose, because it is then the most recently updated user.
func (a *Activities) PrepareResyncContact(ctx context.Context, req ResyncContactRequest) (ResyncPlan, error) {
	plan, err := a.prepareResyncContact(ctx, req.MemberNumber, req.ConversationID)
	if err != nil {
		a.Log.WithField("member_number", req.MemberNumber).Errorf("Tag-based sync could not prepare the contact: %v", err)
		return plan, classify(err)
	}
	a.Log.WithFields(logrus.Fields{
		"member_number": req.MemberNumber, "contact_id": plan.ContactID, "how": plan.How,
		"leads_to_merge": len(plan.MergeLeads), "users_to_archive": len(plan.ArchiveUsers), "outcome": plan.Outcome,
	}).Info("Chose the Intercom contact for tag-based sync")
	return plan, nil
}

func (a *Activities) prepareResyncContact(ctx context.Context, number, conversationID string) (ResyncPlan, error) {
	m, outcome, err := a.resyncMember(ctx, number)
	if err != nil || outcome != ResyncReady {
		return ResyncPlan{Outcome: outcome}, err
	}
	owners, err := a.conversationContacts(ctx, conversationID)
	if err != nil {
		return ResyncPlan{}, err
	}
	contacts, err := a.contactsByEmail(ctx, m.Email)
	if err != nil {
		return ResyncPlan{}, fmt.Errorf("search contacts of member %s: %w", m.Number, err)
	}
	var users, leads []intercom.Contact
	for _, c := range contacts {
		switch {
		case pendingInvitation(c):
		case c.Role == "user":
			users = append(users, c)
		case c.Role == "lead":
			leads = append(leads, c)
		}
	}
	plan := ResyncPlan{Outcome: ResyncReady}
	if len(users) > 0 {
		slices.SortFunc(users, survivorFirst)
		plan.ContactID, plan.How = users[0].ID, ContactExisting
	} else {
		positions, err := a.Positions.ForMember(ctx, m.Number)
		if err != nil {
			return ResyncPlan{}, fmt.Errorf("positions of member %s: %w", m.Number, err)
		}
		fields := a.memberFields(m, positions, true) // it becomes the member's user
		fields["role"] = "user"
		if len(leads) > 0 {
			slices.SortFunc(leads, survivorFirst)
			plan.ContactID, plan.How, err = a.makeUser(ctx, leads[0].ID, fields)
		} else {
			fields["email"] = m.Email
			plan.ContactID, plan.How, err = a.createUser(ctx, fields)
		}
		if err != nil {
			return ResyncPlan{}, err
		}
		plan.FieldsWritten = true
	}
	for _, c := range users {
		if c.ID != plan.ContactID && !owners[c.ID] && value(c.ExternalID) == "" {
			plan.ArchiveUsers = append(plan.ArchiveUsers, c.ID)
		}
	}
	for _, c := range leads {
		if c.ID != plan.ContactID {
			plan.MergeLeads = append(plan.MergeLeads, c.ID)
		}
	}
	return plan, nil
}

// resyncMember reads the member again (the workflow's lookup only said the
// member exists: their data stays out of the history).
func (a *Activities) resyncMember(ctx context.Context, number string) (members.Member, ResyncOutcome, error) {
	m, err := a.Members.FindByNumber(ctx, number)
	if errors.Is(err, members.ErrNotFound) {
		return m, ResyncMemberNotFound, nil
	}
	if err != nil {
		return m, "", fmt.Errorf("look up member %s: %w", strings.TrimSpace(number), err)
	}
	if m.Email == "" {
		return m, ResyncMemberNoEmail, nil
	}
	return m, ResyncReady, nil
}

// pendingInvitation recognises the lead InviteContact made for an
// invitation not yet accepted.
// conversationContacts are the ids of the conversation's contacts; none
// when there is no conversation id, or the conversation is gone.
func (a *Activities) conversationContacts(ctx context.Context, conversationID string) (map[string]bool, error) {
	ids := map[string]bool{}
	if conversationID == "" {
		return ids, nil
	}
	conv, err := a.Intercom.GetConversation(ctx, conversationID)
	if intercom.IsNotFound(err) {
		return ids, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get conversation %s: %w", conversationID, err)
	}
	for _, c := range conv.Contacts.Contacts {
		ids[c.ID] = true
	}
	return ids, nil
}

func value(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func pendingInvitation(c intercom.Contact) bool {
	return c.ExternalID != nil && strings.HasPrefix(*c.ExternalID, InvitedExternalID(""))
}

// survivorFirst orders contacts best survivor first: with an external_id,
// then most recently updated, then most recently created, then by id so
// the order never depends on the search's.
func survivorFirst(x, y intercom.Contact) int {
	hasExt := func(c intercom.Contact) bool { return c.ExternalID != nil && *c.ExternalID != "" }
	if hx, hy := hasExt(x), hasExt(y); hx != hy {
		if hx {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(y.UpdatedAt, x.UpdatedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(y.CreatedAt, x.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(x.ID, y.ID)
}

// contactsByEmail returns every contact search finds with the email,
// compared case-insensitively (search excludes archived and merged-away
// contacts).
func (a *Activities) contactsByEmail(ctx context.Context, email string) ([]intercom.Contact, error) {
	var out []intercom.Contact
	after := ""
	for {
		page, err := a.Intercom.SearchContacts(ctx, intercom.Filter{Field: "email", Operator: "=", Value: email}, 50, after)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Data {
			if c.Email != nil && strings.EqualFold(strings.TrimSpace(*c.Email), email) {
				out = append(out, c)
			}
		}
		if page.Pages.Next == nil || page.Pages.Next.StartingAfter == "" || page.Pages.Next.StartingAfter == after {
			return out, nil
		}
		after = page.Pages.Next.StartingAfter
	}
}

// maxConflictHops bounds how many 409s in a row are followed: each names a
// contact search did not show yet; more than a couple means something
// else is wrong, and the retry (with a fresher search) takes over.
const maxConflictHops = 3

// createUser creates the user; a 409 means a contact with the email exists
// that search did not show, and that one is made the user instead.
func (a *Activities) createUser(ctx context.Context, fields intercom.Fields) (string, ContactOrigin, error) {
	var created *intercom.Contact
	err := a.withAttributes(ctx, "contact", fields, func(fields intercom.Fields) (err error) {
		created, err = a.Intercom.CreateContact(ctx, fields)
		return err
	})
	if err == nil {
		return created.ID, ContactCreated, nil
	}
	existing, conflict := intercom.ConflictID(err)
	if !conflict || existing == "" {
		return "", "", fmt.Errorf("create contact: %w", err)
	}
	if intercom.ArchivedConflict(err) {
		if err := a.unarchive(ctx, existing); err != nil {
			return "", "", err
		}
	}
	delete(fields, "email") // the existing contact keeps its own spelling of it
	id, _, err := a.makeUser(ctx, existing, fields)
	return id, ContactExisting, err
}

// makeUser writes the member data and role=user to a contact (a lead
// becomes a user; a user is just updated). A 409 names a user with the
// email that search did not show: that one gets the data instead, and the
// contact at hand is left for the next run to fold in.
func (a *Activities) makeUser(ctx context.Context, id string, fields intercom.Fields) (string, ContactOrigin, error) {
	for hop := 0; ; hop++ {
		err := a.withAttributes(ctx, "contact", fields, func(fields intercom.Fields) error {
			_, err := a.Intercom.UpdateContact(ctx, id, fields)
			return err
		})
		if err == nil {
			if hop == 0 {
				return id, ContactConverted, nil
			}
			return id, ContactExisting, nil
		}
		existing, conflict := intercom.ConflictID(err)
		if !conflict || existing == "" || existing == id || hop+1 >= maxConflictHops {
			return "", "", fmt.Errorf("make contact %s a user: %w", id, err)
		}
		if intercom.ArchivedConflict(err) {
			if err := a.unarchive(ctx, existing); err != nil {
				return "", "", err
			}
		}
		id = existing
	}
}
