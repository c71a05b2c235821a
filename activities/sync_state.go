package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// A target is an entity as Intercom must hold it: the fields to write, and
// the sync state that a complete push of them records. The pushes and the
// backfill both take their targets from here, so they agree on what "up to
// date" means: if they drifted apart, every push after a backfill would
// rewrite everything, or skip a real change.
type target struct {
	Fields intercom.Fields
	// Done is the sync state once Intercom holds Fields (and, for a
	// user, is attached to the companies of exactly its organizations).
	// Its IntercomID is the caller's to fill in: see doneAs.
	Done store.SyncState
}

// doneAs is the complete push's sync state for the Intercom record id.
func (t target) doneAs(intercomID string) store.SyncState {
	st := t.Done
	st.IntercomID = intercomID
	st.AttachedOrgIDs = slices.Clone(st.AttachedOrgIDs)
	return st
}

// deletedState records that the entity's Intercom record is gone (or
// never was). A company keeps its Intercom id: contacts' detach steps
// still need it.
func deletedState(intercomID string) store.SyncState {
	return store.SyncState{IntercomID: intercomID, Deleted: true}
}

// userContact is the contact of a user: role user, external_id the user
// id, attached to the companies of the user's organizations. FieldsHash
// marks the fields as written even while attachments are still to do.
func (a *Activities) userContact(u store.User) target {
	f := intercom.Fields{
		"role":              "user",
		"external_id":       u.ID,
		"custom_attributes": map[string]any{"environment": a.Environment, "status": StatusActive},
	}
	if u.Email != "" {
		f["email"] = u.Email
	}
	if name := clerk.FullName(u.FirstName, u.LastName); name != "" {
		f["name"] = name
	} else {
		f["name"] = nil
	}
	if u.CreatedAtMs > 0 {
		f["signed_up_at"] = u.CreatedAtMs / 1000
	}
	return target{Fields: f, Done: store.SyncState{
		Hash: hashOf(f, u.OrgIDs), FieldsHash: hashOf(f), AttachedOrgIDs: slices.Clone(u.OrgIDs),
	}}
}

// orgCompany is the company of an organization, keyed by company_id. Its
// creation time goes to remote_created_at, Intercom's writable field for
// "created in your system" (created_at is Intercom's own, read-only).
func (a *Activities) orgCompany(o store.Org) target {
	f := intercom.Fields{
		"company_id":        o.ID,
		"name":              o.Name,
		"remote_created_at": o.CreatedAtMs / 1000,
		"custom_attributes": map[string]any{"environment": a.Environment},
	}
	return target{Fields: f, Done: store.SyncState{Hash: hashOf(f)}}
}

// invitedContact is the contact of a pending invitation, attached to the
// company of the invitation's organization: a user (only users keep an
// external_id, docs/intercom.md), without activity timestamps, tagged
// invited-user, status invited.
func (a *Activities) invitedContact(inv store.Invitation) target {
	f := intercom.Fields{
		"role":              "user",
		"external_id":       InvitedExternalID(inv.ID),
		"email":             inv.Email,
		"custom_attributes": map[string]any{"status": StatusInvited, "environment": a.Environment},
	}
	return target{Fields: f, Done: store.SyncState{Hash: hashOf(f, inv.OrgID)}}
}

// hashOf is the change-diffing fingerprint of a payload.
func hashOf(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		_ = enc.Encode(p) // maps encode with sorted keys: stable
	}
	return hex.EncodeToString(h.Sum(nil))
}

// deleteContacts is the one way a contact goes: the contact of a deleted
// user or of a revoked invitation. It deletes each of ids (a 404 means
// already gone, which is the goal) and records the entity's sync state as
// deleted, keeping the first id. It reports whether it deleted any.
func (a *Activities) deleteContacts(ctx context.Context, kind entity.Kind, entityID string, ids []string) (deleted bool, err error) {
	for _, id := range ids {
		err := a.Intercom.DeleteContact(ctx, id)
		if err == nil {
			deleted = true
		} else if !intercom.IsNotFound(err) {
			return deleted, fmt.Errorf("delete contact %s: %w", id, err)
		}
	}
	kept := ""
	if len(ids) > 0 {
		kept = ids[0]
	}
	return deleted, a.Store.SaveSyncState(ctx, kind, entityID, deletedState(kept))
}

// pushDelete is a push's delete: the contact it recorded, and any other
// that external_id finds (pushed by an earlier deployment, or by a push
// that did not live to record it).
func (a *Activities) pushDelete(ctx context.Context, kind entity.Kind, entityID, externalID string, st store.SyncState) (PushResult, error) {
	if st.Deleted {
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeAbsent}, nil
	}
	var ids []string
	if st.IntercomID != "" {
		ids = append(ids, st.IntercomID)
	}
	found, err := a.Intercom.FindContactByExternalID(ctx, externalID)
	if err != nil {
		return PushResult{}, fmt.Errorf("search contact %s: %w", externalID, err)
	}
	if found != nil && found.ID != st.IntercomID {
		ids = append(ids, found.ID)
	}
	deleted, err := a.deleteContacts(ctx, kind, entityID, ids)
	res := PushResult{IntercomID: st.IntercomID, Outcome: OutcomeAbsent}
	if deleted {
		res.Outcome = OutcomeDeleted
	}
	return res, err
}

// SyncedIntercomID is the Intercom contact or company an entity's last
// push wrote ("" if none): a read, for the result of a sync run that had
// nothing to push.
func (a *Activities) SyncedIntercomID(ctx context.Context, kind entity.Kind, entityID string) (string, error) {
	st, err := a.Store.SyncState(ctx, kind, entityID)
	if err != nil {
		return "", err
	}
	return st.IntercomID, nil
}
