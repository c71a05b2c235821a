package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// InvitedTag marks invited contacts in Intercom.
const InvitedTag = "invited-user"

// Contact statuses written to custom_attributes.status.
const (
	StatusInvited = "invited"
	StatusActive  = "active"
)

// InvitedExternalID is the external_id of an invitation's invited contact.
func InvitedExternalID(invitationID string) string { return invitedPrefix + invitationID }

const invitedPrefix = "invitation_"

func isInvitedExternalID(externalID string) bool { return strings.HasPrefix(externalID, invitedPrefix) }

// refuseTakeOver stops an invitation's push from taking over the contact a
// 409 named when that contact is someone else's: a workspace where users'
// emails are unique answers an invited user's creation with the contact of
// the person's other invitation, or of a user. A user's push may take such
// a contact over (the person signed up); an invitation's may not, or two
// invitations would steal one contact from each other. Contacts without an
// external_id (leads of earlier versions) are anyone's to take.
func (a *Activities) refuseTakeOver(ctx context.Context, contactID, externalID string, conflict error) error {
	c, err := a.Intercom.GetContact(ctx, contactID)
	if err != nil {
		return fmt.Errorf("get contact %s: %w", contactID, err)
	}
	if c.ExternalID == nil || *c.ExternalID == "" || *c.ExternalID == externalID {
		return nil
	}
	// The 409 stays the cause: a client error, this entity's alone.
	return fmt.Errorf("contact %s: the invited email belongs to contact %s (external_id %s), not this invitation's: %w",
		externalID, contactID, *c.ExternalID, conflict)
}

// PushInvitation makes an invitation's invited contact match the database.
// While the invitation is pending and its person has no user yet, the
// invited contact is a user with external_id invitation_<id>, tag
// invited-user, status "invited", attached to the organization's company
// and without activity timestamps. Revoked: the invited contact is
// deleted. Once the person is a user (accepted, or signed up with the
// invited email), the user's sync absorbs the invited contact; PushInvitation
// then reports the user in RefreshUser so the workflow can ask for it.
func (a *Activities) PushInvitation(ctx context.Context, req PushRequest) (PushResult, error) {
	res, err := a.pushInvitation(ctx, req.EntityID, req.Force)
	return a.finishPush("invitation", "invitation_id", req.EntityID, res, err)
}

func (a *Activities) pushInvitation(ctx context.Context, invID string, force bool) (PushResult, error) {
	inv, err := a.Store.Invitation(ctx, invID)
	if errors.Is(err, store.ErrNotFound) {
		return PushResult{Outcome: OutcomeAbsent}, nil
	}
	if err != nil {
		return PushResult{}, err
	}
	st, err := a.Store.SyncState(ctx, entity.Invitation, invID)
	if err != nil {
		return PushResult{}, err
	}
	if st.Deleted {
		// Revoked and deleted, or absorbed into the user's contact: either
		// way there is nothing of this invitation left to write (a
		// revocation after acceptance must not touch the user's contact).
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeAbsent}, nil
	}
	if inv.Status == store.InvitationRevoked {
		return a.pushDelete(ctx, entity.Invitation, invID, InvitedExternalID(invID), st)
	}
	userID, err := a.Store.PersonUserID(ctx, inv)
	if err != nil {
		return PushResult{}, err
	}
	if userID != "" || inv.Status == store.InvitationAccepted {
		// The person is (or is becoming) a user: the user's sync owns the
		// contact from now on; never create a second one.
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeUnchanged, RefreshUser: userID}, nil
	}

	want := a.invitedContact(inv)
	if st.Hash == want.Done.Hash && st.IntercomID != "" && !force {
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeUnchanged}, nil
	}
	var contactID string
	var outcome PushOutcome
	err = a.withAttributes(ctx, "contact", want.Fields, func(fields intercom.Fields) (err error) {
		contactID, outcome, err = a.upsertContact(ctx, st.IntercomID, InvitedExternalID(invID), fields)
		return err
	})
	if err != nil {
		return PushResult{}, err
	}
	// Record the contact at once: if the person signs up while the rest of
	// this push runs, their sync must find it to absorb it.
	st.IntercomID = contactID
	if err := a.Store.SaveSyncState(ctx, entity.Invitation, invID, st); err != nil {
		return PushResult{}, err
	}
	if err := a.tagInvited(ctx, contactID); err != nil {
		return PushResult{}, err
	}
	companyID, err := a.ensureCompany(ctx, inv.OrgID)
	if err != nil {
		return PushResult{}, fmt.Errorf("company for organization %s: %w", inv.OrgID, err)
	}
	if companyID != "" {
		if err := a.Intercom.AttachCompany(ctx, contactID, companyID); err != nil {
			return PushResult{}, fmt.Errorf("attach contact %s to company %s: %w", contactID, companyID, err)
		}
	}
	if err := a.Store.SaveSyncState(ctx, entity.Invitation, invID, want.doneAs(contactID)); err != nil {
		return PushResult{}, err
	}
	// The person may have signed up while this ran; then their sync must
	// run again to absorb the contact just made.
	userID, err = a.Store.PersonUserID(ctx, inv)
	return PushResult{IntercomID: contactID, Outcome: outcome, RefreshUser: userID}, err
}

// adoptInvitedContact turns an invited contact into the user's contact (a
// PUT of the user's fields: role, external_id, status active,
// signed_up_at), keeping its companies. It returns the contact id, or ""
// if the invited contact is gone.
func (a *Activities) adoptInvitedContact(ctx context.Context, inv store.InvitedContact, fields intercom.Fields) (string, error) {
	c, err := a.Intercom.UpdateContact(ctx, inv.ContactID, fields)
	if intercom.IsNotFound(err) {
		return "", nil
	}
	if id, conflict := intercom.ConflictID(err); conflict && id != "" {
		// A user contact exists after all (e.g. made by another system):
		// that one is the user's, and the invited contact is absorbed.
		return id, nil
	}
	if err != nil {
		return "", fmt.Errorf("convert invited contact %s: %w", inv.ContactID, err)
	}
	return c.ID, nil
}

// absorbInvitedContacts finishes what the user's contact owes its
// invitations: the adopted one loses the invited-user tag, the others'
// companies move to the user's contact and they are deleted. Each is then
// marked absorbed, so it is done once.
func (a *Activities) absorbInvitedContacts(ctx context.Context, contactID string, invited []store.InvitedContact) error {
	for _, inv := range invited {
		if inv.ContactID == contactID {
			tagID, err := a.invitedTagID(ctx)
			if err != nil {
				return err
			}
			if err := a.Intercom.UntagContact(ctx, contactID, tagID); err != nil && !intercom.IsNotFound(err) {
				return fmt.Errorf("untag contact %s: %w", contactID, err)
			}
		} else {
			companyID, err := a.ensureCompany(ctx, inv.OrgID)
			if err != nil {
				return fmt.Errorf("company for organization %s: %w", inv.OrgID, err)
			}
			if companyID != "" {
				if err := a.Intercom.AttachCompany(ctx, contactID, companyID); err != nil {
					return fmt.Errorf("attach contact %s to company %s: %w", contactID, companyID, err)
				}
			}
			if err := a.Intercom.DeleteContact(ctx, inv.ContactID); err != nil && !intercom.IsNotFound(err) {
				return fmt.Errorf("delete invited contact %s: %w", inv.ContactID, err)
			}
		}
		err := a.Store.SaveSyncState(ctx, entity.Invitation, inv.InvitationID, deletedState(inv.ContactID))
		if err != nil {
			return err
		}
	}
	return nil
}

// tagCache holds the invited-user tag's id: POST /tags returns the
// existing tag, so the first call per process is enough.
type tagCache struct {
	mu sync.Mutex
	id string
}

// tagInvited puts the invited-user tag on the contact. A 404 means the
// cached tag id is stale (the tag was deleted in Intercom): the tag is
// made again and the call repeated once.
func (a *Activities) tagInvited(ctx context.Context, contactID string) error {
	for attempt := 0; ; attempt++ {
		tagID, err := a.invitedTagID(ctx)
		if err != nil {
			return err
		}
		err = a.Intercom.TagContact(ctx, contactID, tagID)
		if intercom.IsNotFound(err) && attempt == 0 {
			// Either the tag or the contact is missing; with a fresh tag
			// id, a second 404 can only be the contact's.
			a.tags.mu.Lock()
			a.tags.id = ""
			a.tags.mu.Unlock()
			continue
		}
		if err != nil {
			return fmt.Errorf("tag contact %s: %w", contactID, err)
		}
		return nil
	}
}

func (a *Activities) invitedTagID(ctx context.Context) (string, error) {
	a.tags.mu.Lock()
	defer a.tags.mu.Unlock()
	if a.tags.id != "" {
		return a.tags.id, nil
	}
	t, err := a.Intercom.CreateTag(ctx, InvitedTag)
	if err != nil {
		return "", fmt.Errorf("tag %s: %w", InvitedTag, err)
	}
	a.tags.id = t.ID
	return t.ID, nil
}

// findInvitedTagID is invitedTagID without creating the tag: "" if the
// workspace has none. A backfill reads before it writes, so that a run
// with nothing to change makes no write, not even POST /tags.
func (a *Activities) findInvitedTagID(ctx context.Context) (string, error) {
	a.tags.mu.Lock()
	defer a.tags.mu.Unlock()
	if a.tags.id != "" {
		return a.tags.id, nil
	}
	tags, err := a.Intercom.ListTags(ctx)
	if err != nil {
		return "", fmt.Errorf("list tags: %w", err)
	}
	for _, t := range tags {
		if strings.EqualFold(t.Name, InvitedTag) { // tag names are case-insensitive
			a.tags.id = t.ID
			return t.ID, nil
		}
	}
	return "", nil
}
