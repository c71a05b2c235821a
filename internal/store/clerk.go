package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
)

// ApplyResult says what applying one Clerk event did.
type ApplyResult struct {
	// Duplicate: this svix-id was applied before; nothing was written.
	Duplicate bool `json:"duplicate"`
	// Changed: at least one row was inserted or replaced. False for a
	// stale event (older updated_at than the row) or a no-op deletion.
	Changed bool `json:"changed"`
}

// ApplyClerkEvent records the delivery svixID and applies the event in one
// transaction, so a retried activity either finds it fully applied (and
// reports a duplicate) or applies it now.
func (s *Store) ApplyClerkEvent(ctx context.Context, svixID, eventType, entityID string, data []byte) (ApplyResult, error) {
	var res ApplyResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`INSERT INTO clerk_events (svix_id, event_type, entity_id) VALUES ($1, $2, $3)
			 ON CONFLICT (svix_id) DO NOTHING`, svixID, eventType, entityID)
		if err != nil {
			return fmt.Errorf("record event %s: %w", svixID, err)
		}
		if tag.RowsAffected() == 0 {
			res.Duplicate = true
			return nil
		}
		changed, err := apply(ctx, tx, eventType, data)
		res.Changed = changed
		return err
	})
	return res, err
}

func apply(ctx context.Context, tx pgx.Tx, eventType string, data []byte) (bool, error) {
	switch eventType {
	case clerk.UserCreated, clerk.UserUpdated:
		u, err := clerk.Decode(data, func(u clerk.User) string { return u.ID })
		if err != nil {
			return false, badEvent(err)
		}
		return upsertUser(ctx, tx, u)
	case clerk.UserDeleted:
		d, err := clerk.Decode(data, func(d clerk.Deleted) string { return d.ID })
		if err != nil {
			return false, badEvent(err)
		}
		return deleteUser(ctx, tx, d.ID)
	case clerk.OrgCreated, clerk.OrgUpdated:
		o, err := clerk.Decode(data, func(o clerk.Organization) string { return o.ID })
		if err != nil {
			return false, badEvent(err)
		}
		return upsertOrg(ctx, tx, o)
	case clerk.OrgDeleted:
		d, err := clerk.Decode(data, func(d clerk.Deleted) string { return d.ID })
		if err != nil {
			return false, badEvent(err)
		}
		return deleteOrg(ctx, tx, d.ID)
	case clerk.MembershipCreated, clerk.MembershipUpdated, clerk.MembershipDeleted:
		m, err := clerk.Decode(data, func(m clerk.Membership) string { return m.ID })
		if err != nil {
			return false, badEvent(err)
		}
		if m.Organization.ID == "" || m.PublicUserData.UserID == "" {
			return false, badEvent(fmt.Errorf("membership %s lacks organization or user id", m.ID))
		}
		// The membership carries the whole organization: keep the org row
		// as fresh as the newest thing we have heard about it.
		// A database error here is the database's, not the event's: it is
		// returned as is, so the activity is retried until it applies.
		orgChanged, err := upsertOrg(ctx, tx, m.Organization)
		if err != nil {
			return false, err
		}
		var changed bool
		if eventType == clerk.MembershipDeleted {
			changed, err = deleteMembership(ctx, tx, m)
		} else {
			changed, err = upsertMembership(ctx, tx, m)
		}
		return changed || orgChanged, err
	case clerk.InvitationCreated, clerk.InvitationAccepted, clerk.InvitationRevoked:
		inv, err := clerk.Decode(data, func(i clerk.Invitation) string { return i.ID })
		if err != nil {
			return false, badEvent(err)
		}
		return upsertInvitation(ctx, tx, inv, eventType)
	default:
		return false, badEvent(fmt.Errorf("unsupported event type %q", eventType))
	}
}

func upsertUser(ctx context.Context, tx pgx.Tx, u clerk.User) (bool, error) {
	email := u.PrimaryEmail()
	tag, err := tx.Exec(ctx, `
		INSERT INTO users (id, email, first_name, last_name, clerk_created_at, clerk_updated_at)
		VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET
			email = EXCLUDED.email, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
			clerk_created_at = EXCLUDED.clerk_created_at, clerk_updated_at = EXCLUDED.clerk_updated_at,
			row_updated_at = now()
		WHERE users.deleted_at IS NULL AND users.clerk_updated_at < EXCLUDED.clerk_updated_at`,
		u.ID, email, u.FirstName, u.LastName, u.CreatedAt, u.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("upsert user %s: %w", u.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// deleteUser leaves a tombstone (inserting one if the user was never seen,
// so a late user.created cannot resurrect it) and ends its memberships.
func deleteUser(ctx context.Context, tx pgx.Tx, id string) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO users (id, deleted_at) VALUES ($1, now())
		ON CONFLICT (id) DO UPDATE SET deleted_at = now(), row_updated_at = now()
		WHERE users.deleted_at IS NULL`, id)
	if err != nil {
		return false, fmt.Errorf("delete user %s: %w", id, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE memberships SET deleted_at = now(), row_updated_at = now()
		WHERE user_id = $1 AND deleted_at IS NULL`, id); err != nil {
		return false, fmt.Errorf("end memberships of user %s: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

func upsertOrg(ctx context.Context, tx pgx.Tx, o clerk.Organization) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO organizations (id, name, slug, clerk_created_at, clerk_updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET
			name = EXCLUDED.name, slug = EXCLUDED.slug,
			clerk_created_at = EXCLUDED.clerk_created_at, clerk_updated_at = EXCLUDED.clerk_updated_at,
			row_updated_at = now()
		WHERE organizations.deleted_at IS NULL AND organizations.clerk_updated_at < EXCLUDED.clerk_updated_at`,
		o.ID, o.Name, o.Slug, o.CreatedAt, o.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("upsert organization %s: %w", o.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

func deleteOrg(ctx context.Context, tx pgx.Tx, id string) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO organizations (id, deleted_at) VALUES ($1, now())
		ON CONFLICT (id) DO UPDATE SET deleted_at = now(), row_updated_at = now()
		WHERE organizations.deleted_at IS NULL`, id)
	if err != nil {
		return false, fmt.Errorf("delete organization %s: %w", id, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE memberships SET deleted_at = now(), row_updated_at = now()
		WHERE org_id = $1 AND deleted_at IS NULL`, id); err != nil {
		return false, fmt.Errorf("end memberships of organization %s: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

func upsertMembership(ctx context.Context, tx pgx.Tx, m clerk.Membership) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO memberships (id, org_id, user_id, role, clerk_created_at, clerk_updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET
			role = EXCLUDED.role, clerk_updated_at = EXCLUDED.clerk_updated_at, row_updated_at = now()
		WHERE memberships.deleted_at IS NULL AND memberships.clerk_updated_at < EXCLUDED.clerk_updated_at`,
		m.ID, m.Organization.ID, m.PublicUserData.UserID, m.Role, m.CreatedAt, m.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("upsert membership %s: %w", m.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// deleteMembership wins over any upsert of the same membership, earlier or
// later: Clerk gives a re-added member a new membership id.
func deleteMembership(ctx context.Context, tx pgx.Tx, m clerk.Membership) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO memberships (id, org_id, user_id, role, clerk_created_at, clerk_updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, now())
		ON CONFLICT (id) DO UPDATE SET deleted_at = now(), row_updated_at = now()
		WHERE memberships.deleted_at IS NULL`,
		m.ID, m.Organization.ID, m.PublicUserData.UserID, m.Role, m.CreatedAt, m.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("delete membership %s: %w", m.ID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// badEventError marks an event whose data cannot be applied however often
// it is retried: data that does not decode or lacks an id, or an event type
// the sync does not know. Only such input is wrapped; an error from the
// database never is, because the workflow skips a bad event for good (and
// Svix already had its 200), while a database error passes.
type badEventError struct{ err error }

func (e badEventError) Error() string { return e.err.Error() }
func (e badEventError) Unwrap() error { return e.err }

func badEvent(err error) error { return badEventError{err} }

// IsBadEvent reports whether err means the event itself is unusable.
func IsBadEvent(err error) bool {
	var b badEventError
	return errors.As(err, &b)
}
