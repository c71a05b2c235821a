package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// PushRequest names the entity to push. Force writes everything again even
// when the stored hash says Intercom is up to date (an operator's resync,
// e.g. after someone edited the record in Intercom).
type PushRequest struct {
	EntityID string `json:"entity_id"`
	Force    bool   `json:"force,omitempty"`
}

// PushResult says what a push did.
type PushResult struct {
	IntercomID string      `json:"intercom_id,omitempty"`
	Outcome    PushOutcome `json:"outcome"`
	// RefreshUser names a user whose sync must run next (an invitation
	// whose person is now a user).
	RefreshUser string `json:"refresh_user,omitempty"`
}

// PushOutcome is what a push (or a backfill, for one entity) did.
type PushOutcome string

const (
	OutcomeCreated   PushOutcome = "created"
	OutcomeUpdated   PushOutcome = "updated"
	OutcomeConverted PushOutcome = "converted" // the user's contact is the former invited contact
	OutcomeDeleted   PushOutcome = "deleted"
	OutcomeUnchanged PushOutcome = "unchanged"
	OutcomeAbsent    PushOutcome = "absent" // nothing to push: the entity is unknown, or already gone
)

// PushUser makes the user's Intercom contact match the database: created or
// updated by external_id, attached to the company of every live membership,
// detached from companies it no longer belongs to, deleted when the user is.
// It reads the current database state, so whichever push runs last writes
// the newest state; and it skips Intercom entirely when the state hashes to
// what was last pushed.
func (a *Activities) PushUser(ctx context.Context, req PushRequest) (PushResult, error) {
	res, err := a.pushUser(ctx, req.EntityID, req.Force)
	return a.finishPush("user", "user_id", req.EntityID, res, err)
}

// finishPush logs a push with the messages of the integration this
// service replaced ("Successfully synced user {id} to Intercom", "Failed
// to sync organization {id} to Intercom: {err}"), so the log searches and
// alerts built on them keep working, and turns its error into a retry
// decision.
func (a *Activities) finishPush(label, idField, id string, res PushResult, err error) (PushResult, error) {
	if err != nil {
		a.Log.WithField(idField, id).Errorf("Failed to sync %s %s to Intercom: %v", label, id, err)
		return res, classify(err)
	}
	if res.Outcome != OutcomeUnchanged && res.Outcome != OutcomeAbsent {
		a.Log.WithFields(map[string]any{idField: id, "intercom_id": res.IntercomID, "outcome": res.Outcome}).
			Infof("Successfully synced %s %s to Intercom", label, id)
	}
	return res, nil
}

func (a *Activities) pushUser(ctx context.Context, userID string, force bool) (PushResult, error) {
	u, err := a.Store.User(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		// A membership can arrive before user.created: nothing to push yet,
		// the user's own event will push it with its memberships.
		return PushResult{Outcome: OutcomeAbsent}, nil
	}
	if err != nil {
		return PushResult{}, err
	}
	st, err := a.Store.SyncState(ctx, entity.User, userID)
	if err != nil {
		return PushResult{}, err
	}
	if u.Deleted {
		return a.pushDelete(ctx, entity.User, userID, userID, st)
	}

	want := a.userContact(u)
	fields := want.Fields
	// Invited contacts of this person (by accepted invitation or email)
	// still in Intercom: the user's contact absorbs them.
	invited, err := a.Store.InvitedContactsOf(ctx, userID, u.Email)
	if err != nil {
		return PushResult{}, err
	}
	if st.Hash == want.Done.Hash && st.IntercomID != "" && !st.Deleted && !force && len(invited) == 0 {
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeUnchanged}, nil
	}
	if force {
		// Forget the progress markers, keeping what is attached so stale
		// companies are still detached.
		st.FieldsHash = ""
	}
	attached := st.AttachedOrgIDs
	if force {
		attached = nil
	}
	// Each step records its progress, so an attempt retried after a
	// failure (a 429 or 500 half-way) resumes where the last one stopped
	// instead of repeating every call.
	save := func() error { return a.Store.SaveSyncState(ctx, entity.User, userID, st) }
	outcome := OutcomeUpdated
	if st.FieldsHash != want.Done.FieldsHash || st.IntercomID == "" || st.Deleted {
		var contactID string
		var how PushOutcome
		err := a.withAttributes(ctx, "contact", fields, func(fields intercom.Fields) (err error) {
			contactID, how, err = a.upsertUserContact(ctx, st.IntercomID, userID, fields, invited)
			return err
		})
		if err != nil {
			return PushResult{}, err
		}
		if contactID != st.IntercomID {
			st.AttachedOrgIDs, attached = nil, nil // a different contact: nothing attached to it yet
		}
		st.IntercomID, st.FieldsHash, st.Deleted, outcome = contactID, want.Done.FieldsHash, false, how
		if err := save(); err != nil {
			return PushResult{}, err
		}
	}
	if err := a.absorbInvitedContacts(ctx, st.IntercomID, invited); err != nil {
		return PushResult{}, err
	}
	for _, orgID := range u.OrgIDs {
		if slices.Contains(attached, orgID) {
			continue
		}
		companyID, err := a.ensureCompany(ctx, orgID)
		if err != nil {
			return PushResult{}, fmt.Errorf("company for organization %s: %w", orgID, err)
		}
		if companyID != "" { // "" : the organization was deleted meanwhile
			if err := a.Intercom.AttachCompany(ctx, st.IntercomID, companyID); err != nil {
				return PushResult{}, fmt.Errorf("attach contact %s to company %s: %w", st.IntercomID, companyID, err)
			}
		}
		if !slices.Contains(st.AttachedOrgIDs, orgID) {
			st.AttachedOrgIDs = append(st.AttachedOrgIDs, orgID)
		}
		if err := save(); err != nil {
			return PushResult{}, err
		}
	}
	for _, orgID := range slices.Clone(st.AttachedOrgIDs) {
		if slices.Contains(u.OrgIDs, orgID) {
			continue
		}
		cst, err := a.Store.SyncState(ctx, entity.Organization, orgID)
		if err != nil {
			return PushResult{}, err
		}
		if cst.IntercomID != "" {
			err = a.Intercom.DetachCompany(ctx, st.IntercomID, cst.IntercomID)
			if err != nil && !intercom.IsNotFound(err) { // 404: already detached, or the company is gone
				return PushResult{}, fmt.Errorf("detach contact %s from company %s: %w", st.IntercomID, cst.IntercomID, err)
			}
		}
		st.AttachedOrgIDs = slices.DeleteFunc(st.AttachedOrgIDs, func(id string) bool { return id == orgID })
		if err := save(); err != nil {
			return PushResult{}, err
		}
	}
	// Attached to exactly the user's companies now: the complete state.
	st = want.doneAs(st.IntercomID)
	return PushResult{IntercomID: st.IntercomID, Outcome: outcome}, save()
}

// upsertUserContact is upsertContact for a user, except that a user with
// no contact yet takes over their oldest invited contact instead of
// getting a second one.
func (a *Activities) upsertUserContact(ctx context.Context, knownID, userID string, f intercom.Fields, invited []store.InvitedContact) (string, PushOutcome, error) {
	if knownID == "" && len(invited) > 0 {
		found, err := a.Intercom.FindContactByExternalID(ctx, userID)
		if err != nil {
			return "", "", fmt.Errorf("search contact %s: %w", userID, err)
		}
		if found == nil {
			for _, inv := range invited {
				id, err := a.adoptInvitedContact(ctx, inv, f)
				if err != nil {
					return "", "", err
				}
				if id != "" {
					return id, OutcomeConverted, nil
				}
			}
		}
	}
	return a.upsertContact(ctx, knownID, userID, f)
}

// upsertContact finds the contact by its Intercom id (if known) or
// external_id, and updates it; otherwise creates it. A 409 on create (the
// search index lags behind writes) names the existing contact, which is
// then updated.
func (a *Activities) upsertContact(ctx context.Context, knownID, externalID string, f intercom.Fields) (string, PushOutcome, error) {
	if knownID != "" {
		c, err := a.Intercom.UpdateContact(ctx, knownID, f)
		if err == nil {
			return c.ID, OutcomeUpdated, nil
		}
		if !intercom.IsNotFound(err) {
			return "", "", fmt.Errorf("update contact %s: %w", knownID, err)
		}
		// Deleted or merged away in Intercom: find or create it anew.
	}
	found, err := a.Intercom.FindContactByExternalID(ctx, externalID)
	if err != nil {
		return "", "", fmt.Errorf("search contact %s: %w", externalID, err)
	}
	if found != nil {
		c, err := a.Intercom.UpdateContact(ctx, found.ID, f)
		if err != nil {
			return "", "", fmt.Errorf("update contact %s: %w", found.ID, err)
		}
		return c.ID, OutcomeUpdated, nil
	}
	return a.createContact(ctx, externalID, f)
}

// createContact creates the contact, or updates the one a 409 names (the
// contact exists but search did not show it, or another contact has the
// user's email). A contact the 409 says is archived (by TagResync or an
// admin) is unarchived first: Intercom refuses every other write to it.
func (a *Activities) createContact(ctx context.Context, externalID string, f intercom.Fields) (string, PushOutcome, error) {
	c, err := a.Intercom.CreateContact(ctx, f)
	if err == nil {
		return c.ID, OutcomeCreated, nil
	}
	existing, conflict := intercom.ConflictID(err)
	if !conflict || existing == "" {
		return "", "", fmt.Errorf("create contact %s: %w", externalID, err)
	}
	if intercom.ArchivedConflict(err) {
		if err := a.unarchive(ctx, existing); err != nil {
			return "", "", err
		}
	}
	if isInvitedExternalID(externalID) {
		if err := a.refuseTakeOver(ctx, existing, externalID, err); err != nil {
			return "", "", err
		}
	}
	c, err = a.Intercom.UpdateContact(ctx, existing, f)
	if err != nil {
		return "", "", fmt.Errorf("update existing contact %s: %w", existing, err)
	}
	return c.ID, OutcomeUpdated, nil
}

// unarchive makes an archived contact writable again (POST
// /contacts/{id}/unarchive; unarchiving a live contact changes nothing).
func (a *Activities) unarchive(ctx context.Context, id string) error {
	if err := a.Intercom.UnarchiveContact(ctx, id); err != nil {
		return fmt.Errorf("unarchive contact %s: %w", id, err)
	}
	return nil
}
