package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/entity"
)

// Invitation statuses as Clerk sends them.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationRevoked  = "revoked"
)

// Invitation is an organization invitation's current state.
type Invitation struct {
	ID     string
	OrgID  string
	Email  string
	Status string
	UserID string // set once accepted
}

func upsertInvitation(ctx context.Context, tx pgx.Tx, inv clerk.Invitation, eventType string) (bool, error) {
	status := inv.Status
	switch eventType { // the event type is authoritative where the payload lags
	case clerk.InvitationAccepted:
		status = InvitationAccepted
	case clerk.InvitationRevoked:
		status = InvitationRevoked
	}
	if status == "" {
		status = InvitationPending
	}
	// A newer updated_at wins; at equal times a terminal status (accepted,
	// revoked) beats pending, so "accepted before created" cannot be undone
	// by the created event arriving second.
	tag, err := tx.Exec(ctx, `
		INSERT INTO invitations (id, org_id, email, status, role, user_id, clerk_created_at, clerk_updated_at)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8)
		ON CONFLICT (id) DO UPDATE SET
			org_id = EXCLUDED.org_id, email = EXCLUDED.email, status = EXCLUDED.status, role = EXCLUDED.role,
			user_id = COALESCE(EXCLUDED.user_id, invitations.user_id),
			clerk_created_at = EXCLUDED.clerk_created_at, clerk_updated_at = EXCLUDED.clerk_updated_at,
			row_updated_at = now()
		WHERE invitations.clerk_updated_at < EXCLUDED.clerk_updated_at
		   OR (invitations.clerk_updated_at = EXCLUDED.clerk_updated_at
		       AND invitations.status = 'pending' AND EXCLUDED.status <> 'pending')`,
		inv.ID, inv.OrganizationID, inv.EmailAddress, status, inv.Role, inv.UserID, inv.CreatedAt, inv.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("upsert invitation %s: %w", inv.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Invitation loads an invitation; ErrNotFound if never seen.
func (s *Store) Invitation(ctx context.Context, id string) (Invitation, error) {
	inv := Invitation{ID: id}
	var userID *string
	err := s.pool.QueryRow(ctx, `SELECT org_id, email, status, user_id FROM invitations WHERE id = $1`, id).
		Scan(&inv.OrgID, &inv.Email, &inv.Status, &userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, ErrNotFound
	}
	if err != nil {
		return inv, fmt.Errorf("load invitation %s: %w", id, err)
	}
	if userID != nil {
		inv.UserID = *userID
	}
	return inv, nil
}

// PersonUserID returns the live user an invitation belongs to: the user
// who accepted it, or else the live user with the invited email; "" if
// none yet.
func (s *Store) PersonUserID(ctx context.Context, inv Invitation) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `
		SELECT id FROM users
		WHERE deleted_at IS NULL AND (id = $1 OR ($2 <> '' AND lower(email) = lower($2)))
		ORDER BY id = $1 DESC, id LIMIT 1`, inv.UserID, inv.Email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find user of invitation %s: %w", inv.ID, err)
	}
	return id, nil
}

// InvitedContact is a live invited contact that belongs to a user.
type InvitedContact struct {
	InvitationID string
	OrgID        string
	ContactID    string // Intercom id of the invited contact
}

// InvitedContactsOf lists the invited contacts still in Intercom for
// invitations this user accepted or that were sent to the user's email —
// the contacts the user's own contact must absorb. Oldest first.
func (s *Store) InvitedContactsOf(ctx context.Context, userID, email string) ([]InvitedContact, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT i.id, i.org_id, st.intercom_id
		FROM invitations i
		JOIN sync_state st ON st.entity_kind = $3 AND st.entity_id = i.id
		WHERE (i.user_id = $1 OR ($2 <> '' AND lower(i.email) = lower($2)))
		  AND i.status <> 'revoked' AND st.intercom_id <> '' AND st.deleted_at IS NULL
		ORDER BY i.clerk_created_at, i.id`, userID, email, entity.Invitation.Record())
	if err != nil {
		return nil, fmt.Errorf("invited contacts of user %s: %w", userID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (InvitedContact, error) {
		var c InvitedContact
		return c, r.Scan(&c.InvitationID, &c.OrgID, &c.ContactID)
	})
}
