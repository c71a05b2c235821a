package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Each entity of a batch is compared with what Intercom holds and only the
// difference is written, through the same targets (userContact,
// orgCompany, invitedContact: sync_state.go) and write paths
// (upsertCompany, createContact, deleteContacts, pushUser) as the pushes.
// The sync state is then set to the target's, so the next push of the
// entity skips what the backfill already wrote.

func (b *batch) users(ctx context.Context) error {
	users, err := b.a.Store.BackfillUsers(ctx, b.req.Filter, b.req.After, b.req.UpTo)
	if err != nil {
		return err
	}
	users = slices.DeleteFunc(users, func(u store.User) bool { return b.isDone(u.ID) })
	if len(users) == 0 {
		return nil
	}
	ids := make([]string, len(users))
	var orgIDs []string
	for i, u := range users {
		ids[i] = u.ID
		orgIDs = append(orgIDs, u.OrgIDs...)
	}
	seen, companyIDs, err := b.contacts(ctx, ids)
	if err != nil {
		return err
	}
	states, err := b.a.Store.SyncStates(ctx, entity.User, ids)
	if err != nil {
		return err
	}
	more, err := b.recordedContacts(ctx, ids, ids, states, seen)
	if err != nil {
		return err
	}
	ci, err := b.companyIndex(ctx, orgIDs, append(companyIDs, more...))
	if err != nil {
		return err
	}
	return b.each(ctx, len(users), func(ctx context.Context, i int) error {
		u := users[i]
		return b.entity(ctx, entity.User, u.ID, func() (outcome, error) {
			return b.user(ctx, u, seen[u.ID], states[u.ID], ci)
		})
	})
}

func (b *batch) user(ctx context.Context, u store.User, seen *intercom.Contact, st store.SyncState, ci *companyIndex) (outcome, error) {
	a := b.a
	if u.Deleted {
		return b.deleteContact(ctx, entity.User, u.ID, seen, st)
	}
	invited, err := a.Store.InvitedContactsOf(ctx, u.ID, u.Email)
	if err != nil {
		return outcome{}, err
	}
	if len(invited) > 0 {
		// Taking invited contacts over (adopting one, merging the others'
		// companies, deleting them) is pushUser's job; force makes it
		// write everything, as it cannot know what Intercom holds.
		change := &BackfillChange{Kind: entity.User, EntityID: u.ID, Action: "update",
			Note: fmt.Sprintf("takes over %d invited contact(s)", len(invited))}
		if seen == nil {
			change.Action = "create"
		}
		if b.req.DryRun {
			return outcome{OutcomeUpdated, change}, nil
		}
		if _, err := a.pushUser(ctx, u.ID, true); err != nil {
			return outcome{}, err
		}
		return outcome{OutcomeUpdated, change}, nil
	}
	t := a.userContact(u)
	return b.contact(ctx, contactJob{
		kind: entity.User, id: u.ID, externalID: u.ID,
		fields: t.Fields, orgIDs: u.OrgIDs, seen: seen, st: st, want: t.Done,
	}, ci)
}

// contactJob is a contact as it must be in Intercom.
type contactJob struct {
	kind           entity.Kind
	id, externalID string
	fields         intercom.Fields
	orgIDs         []string // organizations whose companies it is attached to
	// invited: it carries the invited-user tag, whose id is tagID ("" if
	// the workspace has no such tag yet).
	invited  bool
	tagID    string
	seen     *intercom.Contact
	st, want store.SyncState
}

// contact makes one contact match: created or updated when its fields
// differ, attached to and detached from companies, tagged.
func (b *batch) contact(ctx context.Context, j contactJob, ci *companyIndex) (outcome, error) {
	a := b.a
	var diff, companies []string
	tagged := false
	if j.seen != nil {
		have, err := asMap(j.seen)
		if err != nil {
			return outcome{}, err
		}
		diff = fieldDiff(a.attrs.writable("contact", j.fields), have)
		if companies, err = b.companiesOf(ctx, j.seen); err != nil {
			return outcome{}, err
		}
		if j.invited && j.tagID != "" {
			if tagged, err = b.hasTag(ctx, j.seen, j.tagID); err != nil {
				return outcome{}, err
			}
		}
	}
	attach, detach, detachOrgs := ci.plan(j.orgIDs, companies)
	if j.seen != nil && len(diff) == 0 && len(attach) == 0 && len(detach) == 0 && (tagged || !j.invited) {
		j.want.IntercomID = j.seen.ID
		return b.unchanged(ctx, j.kind, j.id, j.st, j.want)
	}
	change := &BackfillChange{Kind: j.kind, EntityID: j.id, Action: "update", Fields: diff, Attach: attach, Detach: detachOrgs}
	result := OutcomeUpdated
	if j.seen == nil {
		change.Action, result = "create", OutcomeCreated
	}
	if j.invited && !tagged {
		change.Note = "tag " + InvitedTag
	}
	if b.req.DryRun {
		return outcome{result, change}, nil
	}

	contactID := ""
	if j.seen != nil {
		contactID = j.seen.ID
	}
	if j.seen == nil || len(diff) > 0 {
		var how PushOutcome
		err := a.withAttributes(ctx, "contact", j.fields, func(fields intercom.Fields) error {
			if j.seen != nil {
				c, err := a.Intercom.UpdateContact(ctx, j.seen.ID, fields)
				if err == nil {
					contactID, how = c.ID, OutcomeUpdated
					return nil
				}
				if !intercom.IsNotFound(err) {
					return fmt.Errorf("update contact %s: %w", j.seen.ID, err)
				}
				// Deleted in Intercom since the search: make it again.
			}
			var err error
			contactID, how, err = a.createContact(ctx, j.externalID, fields)
			return err
		})
		if err != nil {
			return outcome{}, err
		}
		if j.seen == nil && how == OutcomeUpdated {
			// A 409 named an existing contact (it had lost its
			// external_id, or search lagged): updated, not created.
			change.Action, result = "update", OutcomeUpdated
		}
		if j.seen == nil || contactID != j.seen.ID {
			// A new contact has no companies; one a 409 named may have
			// some.
			companies = nil
			if how == OutcomeUpdated {
				if companies, err = a.Intercom.ContactCompanyIDs(ctx, contactID); err != nil {
					return outcome{}, fmt.Errorf("companies of contact %s: %w", contactID, err)
				}
			}
			attach, detach, _ = ci.plan(j.orgIDs, companies)
			tagged = false
		}
	}
	// A tag goes on first: the contact is then findable as invited even
	// if the rest fails.
	if j.invited && !tagged {
		if err := a.tagInvited(ctx, contactID); err != nil {
			return outcome{}, err
		}
	}
	for _, orgID := range attach {
		if err := b.attach(ctx, ci, contactID, orgID); err != nil {
			return outcome{}, err
		}
	}
	for _, companyID := range detach {
		err := a.Intercom.DetachCompany(ctx, contactID, companyID)
		if err != nil && !intercom.IsNotFound(err) { // 404: already detached, or the company is gone
			return outcome{}, fmt.Errorf("detach contact %s from company %s: %w", contactID, companyID, err)
		}
	}
	j.want.IntercomID = contactID
	return outcome{result, change}, a.Store.SaveSyncState(ctx, j.kind, j.id, j.want)
}

// deleteContact makes sure the contact of a deleted user or revoked
// invitation is gone.
func (b *batch) deleteContact(ctx context.Context, kind entity.Kind, id string, seen *intercom.Contact, st store.SyncState) (outcome, error) {
	if seen == nil {
		return b.unchanged(ctx, kind, id, st, deletedState(st.IntercomID))
	}
	change := &BackfillChange{Kind: kind, EntityID: id, Action: "delete"}
	if b.req.DryRun {
		return outcome{OutcomeDeleted, change}, nil
	}
	_, err := b.a.deleteContacts(ctx, kind, id, []string{seen.ID})
	return outcome{OutcomeDeleted, change}, err
}

func (b *batch) invitations(ctx context.Context) error {
	invs, err := b.a.Store.BackfillInvitations(ctx, b.req.Filter, b.req.After, b.req.UpTo)
	if err != nil {
		return err
	}
	invs = slices.DeleteFunc(invs, func(i store.BackfillInvitation) bool { return b.isDone(i.ID) })
	if len(invs) == 0 {
		return nil
	}
	ids := make([]string, len(invs))
	exts := make([]string, len(invs))
	var orgIDs []string
	for i, inv := range invs {
		ids[i], exts[i] = inv.ID, InvitedExternalID(inv.ID)
		orgIDs = append(orgIDs, inv.OrgID)
	}
	seen, companyIDs, err := b.contacts(ctx, exts)
	if err != nil {
		return err
	}
	states, err := b.a.Store.SyncStates(ctx, entity.Invitation, ids)
	if err != nil {
		return err
	}
	more, err := b.recordedContacts(ctx, ids, exts, states, seen)
	if err != nil {
		return err
	}
	ci, err := b.companyIndex(ctx, orgIDs, append(companyIDs, more...))
	if err != nil {
		return err
	}
	// Read, never create: a run with nothing to change writes nothing.
	tagID, err := b.a.findInvitedTagID(ctx)
	if err != nil {
		return err
	}
	return b.each(ctx, len(invs), func(ctx context.Context, i int) error {
		inv := invs[i]
		return b.entity(ctx, entity.Invitation, inv.ID, func() (outcome, error) {
			return b.invitation(ctx, inv, seen[InvitedExternalID(inv.ID)], states[inv.ID], ci, tagID)
		})
	})
}

// invitation follows pushInvitation's rules: a pending invitation whose
// person has no user yet has an invited contact; a revoked one, or one
// absorbed into its user's contact, has none; once the person is a user,
// the user's contact takes the invited one over.
func (b *batch) invitation(ctx context.Context, inv store.BackfillInvitation, seen *intercom.Contact, st store.SyncState, ci *companyIndex, tagID string) (outcome, error) {
	a := b.a
	if st.Deleted || inv.Status == store.InvitationRevoked {
		return b.deleteContact(ctx, entity.Invitation, inv.ID, seen, st)
	}
	if inv.PersonUserID != "" || inv.Status == store.InvitationAccepted {
		if seen == nil || inv.PersonUserID == "" {
			// Nothing to take over, or the user's sync will when the user
			// arrives.
			return outcome{result: OutcomeUnchanged}, nil
		}
		change := &BackfillChange{Kind: entity.Invitation, EntityID: inv.ID, Action: "update",
			Note: "taken over by user " + inv.PersonUserID}
		if b.req.DryRun {
			return outcome{OutcomeUpdated, change}, nil
		}
		if st.IntercomID != seen.ID {
			// The user's push finds invited contacts through the sync state.
			st.IntercomID = seen.ID
			if err := a.Store.SaveSyncState(ctx, entity.Invitation, inv.ID, st); err != nil {
				return outcome{}, err
			}
		}
		if _, err := a.pushUser(ctx, inv.PersonUserID, false); err != nil {
			return outcome{}, err
		}
		return outcome{OutcomeUpdated, change}, nil
	}
	t := a.invitedContact(inv.Invitation)
	var orgIDs []string
	if !inv.OrgDeleted {
		orgIDs = []string{inv.OrgID}
	}
	return b.contact(ctx, contactJob{
		kind: entity.Invitation, id: inv.ID, externalID: InvitedExternalID(inv.ID),
		fields: t.Fields, orgIDs: orgIDs, invited: true, tagID: tagID, seen: seen, st: st, want: t.Done,
	}, ci)
}

// recordedContacts reads by id the contacts the sync states record that
// search by external_id did not find, or found as it may have been before
// a write of the last searchLag, into seen (by external id), and returns
// the companies they are attached to. Search lags writes by up to
// minutes, so a contact pushed a moment ago may be missing from it, or
// show its old values (a diff against those would miss a change); and
// the invited contacts earlier versions made were leads, which Intercom
// keeps without an external_id. The diff then makes such a lead a user
// with the external_id (lead to user is the one way Intercom converts),
// or the delete removes it.
func (b *batch) recordedContacts(ctx context.Context, ids, externalIDs []string, states map[string]store.SyncState,
	seen map[string]*intercom.Contact) ([]string, error) {
	var companies []string
	for i, id := range ids {
		st, ext := states[id], externalIDs[i]
		stale := seen[ext] != nil && time.Since(st.PushedAt) < searchLag
		if seen[ext] != nil && !stale || st.IntercomID == "" || st.Deleted {
			continue
		}
		c, err := b.recordedContact(ctx, st.IntercomID, ext)
		if err != nil {
			return nil, err
		}
		if c == nil {
			delete(seen, ext) // gone (or someone else's) since search saw it
			continue
		}
		seen[ext] = c
		for _, r := range c.Companies.Data {
			companies = append(companies, r.ID)
		}
	}
	return companies, nil
}

// searchLag is how long Intercom's search may show a contact as it was
// before a write: "This delay can take a few minutes" (spec, POST
// /contacts/search).
const searchLag = 5 * time.Minute

// recordedContact is the contact id, unless it is gone or is someone
// else's now (it carries another external_id).
func (b *batch) recordedContact(ctx context.Context, id, externalID string) (*intercom.Contact, error) {
	c, err := b.a.Intercom.GetContact(ctx, id)
	if intercom.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get contact %s: %w", id, err)
	}
	if c.ExternalID != nil && *c.ExternalID != "" && *c.ExternalID != externalID {
		return nil, nil
	}
	return c, nil
}

// contacts reads the contacts of these external ids (searches of at most
// intercom.MaxSearchINValues ids each)
// and lists the companies they are attached to.
func (b *batch) contacts(ctx context.Context, externalIDs []string) (map[string]*intercom.Contact, []string, error) {
	found, err := b.a.Intercom.ContactsByExternalIDs(ctx, externalIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("search contacts: %w", err)
	}
	byExt := make(map[string]*intercom.Contact, len(found))
	var companies []string
	for i := range found {
		c := &found[i]
		if c.ExternalID == nil {
			continue
		}
		byExt[*c.ExternalID] = c
		for _, r := range c.Companies.Data {
			companies = append(companies, r.ID)
		}
	}
	return byExt, companies, nil
}

// hasTag says whether the contact carries the tag. The contact object
// embeds at most 10 tags; when it has more, they are listed.
func (b *batch) hasTag(ctx context.Context, c *intercom.Contact, tagID string) (bool, error) {
	isTag := func(id string) bool { return id == tagID }
	if slices.ContainsFunc(c.Tags.Data, func(r intercom.Ref) bool { return isTag(r.ID) }) {
		return true, nil
	}
	if c.TagIDsComplete() {
		return false, nil
	}
	ids, err := b.a.Intercom.ContactTagIDs(ctx, c.ID)
	if err != nil {
		return false, fmt.Errorf("tags of contact %s: %w", c.ID, err)
	}
	return slices.ContainsFunc(ids, isTag), nil
}

// companiesOf is every company attached to the contact: the contact
// object embeds at most 10; has_more says to list them all.
func (b *batch) companiesOf(ctx context.Context, c *intercom.Contact) ([]string, error) {
	if c.CompanyIDsComplete() {
		ids := make([]string, len(c.Companies.Data))
		for i, r := range c.Companies.Data {
			ids[i] = r.ID
		}
		return ids, nil
	}
	ids, err := b.a.Intercom.ContactCompanyIDs(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("companies of contact %s: %w", c.ID, err)
	}
	return ids, nil
}

// unchanged records what Intercom holds as the entity's sync state when
// it says otherwise (a write to the database, none to Intercom).
func (b *batch) unchanged(ctx context.Context, kind entity.Kind, id string, have, want store.SyncState) (outcome, error) {
	if b.req.DryRun || sameState(have, want) {
		return outcome{result: OutcomeUnchanged}, nil
	}
	return outcome{result: OutcomeUnchanged}, b.a.Store.SaveSyncState(ctx, kind, id, want)
}

func sameState(x, y store.SyncState) bool {
	return x.IntercomID == y.IntercomID && x.Hash == y.Hash && x.FieldsHash == y.FieldsHash &&
		x.Deleted == y.Deleted && slices.Equal(x.AttachedOrgIDs, y.AttachedOrgIDs)
}
