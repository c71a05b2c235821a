package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/jackc/pgx/v5"
)

// User is a user's current state as the sync pushes it.
type User struct {
	ID          string
	Email       string
	FirstName   *string
	LastName    *string
	CreatedAtMs int64
	UpdatedAtMs int64
	Deleted     bool
	// OrgIDs are the organizations of the user's live memberships (live
	// organizations only), sorted.
	OrgIDs []string
}

// Org is an organization's current state.
type Org struct {
	ID          string
	Name        string
	Slug        string
	CreatedAtMs int64
	UpdatedAtMs int64
	Deleted     bool
}

// User loads a user and its organizations; ErrNotFound if never seen.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	u := User{ID: id}
	var email *string
	err := s.pool.QueryRow(ctx, `
		SELECT email, first_name, last_name, clerk_created_at, clerk_updated_at, deleted_at IS NOT NULL
		FROM users WHERE id = $1`, id).
		Scan(&email, &u.FirstName, &u.LastName, &u.CreatedAtMs, &u.UpdatedAtMs, &u.Deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("load user %s: %w", id, err)
	}
	if email != nil {
		u.Email = *email
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT m.org_id FROM memberships m
		JOIN organizations o ON o.id = m.org_id AND o.deleted_at IS NULL
		WHERE m.user_id = $1 AND m.deleted_at IS NULL
		ORDER BY m.org_id`, id)
	if err != nil {
		return u, fmt.Errorf("load memberships of user %s: %w", id, err)
	}
	u.OrgIDs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return u, fmt.Errorf("load memberships of user %s: %w", id, err)
	}
	return u, nil
}

// Org loads an organization; ErrNotFound if never seen.
func (s *Store) Org(ctx context.Context, id string) (Org, error) {
	o := Org{ID: id}
	err := s.pool.QueryRow(ctx, `
		SELECT name, slug, clerk_created_at, clerk_updated_at, deleted_at IS NOT NULL
		FROM organizations WHERE id = $1`, id).
		Scan(&o.Name, &o.Slug, &o.CreatedAtMs, &o.UpdatedAtMs, &o.Deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("load organization %s: %w", id, err)
	}
	return o, nil
}

// SyncState is what was last pushed to Intercom for one entity.
type SyncState struct {
	IntercomID string
	// Hash fingerprints everything the last complete push wrote.
	Hash string
	// FieldsHash fingerprints the fields last written to the record, even
	// if the push did not complete (attachments may be left).
	FieldsHash     string
	AttachedOrgIDs []string
	// PushedAt is when the state was last saved (zero if never): a record
	// written moments ago may still show its old values in Intercom's
	// search, which lags writes.
	PushedAt time.Time
	// Deleted: the record is gone from Intercom (for an invitation: its
	// invited contact was deleted on revocation, or absorbed into the
	// user's contact).
	Deleted bool
}

// SyncState returns the entity's state, or the zero value if never pushed.
func (s *Store) SyncState(ctx context.Context, kind entity.Kind, id string) (SyncState, error) {
	var st SyncState
	err := s.pool.QueryRow(ctx, `
		SELECT intercom_id, pushed_hash, fields_hash, attached_org_ids, COALESCE(pushed_at, 'epoch'), deleted_at IS NOT NULL
		FROM sync_state WHERE entity_kind = $1 AND entity_id = $2`, kind.Record(), id).
		Scan(&st.IntercomID, &st.Hash, &st.FieldsHash, &st.AttachedOrgIDs, &st.PushedAt, &st.Deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return SyncState{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("load sync state %s/%s: %w", kind, id, err)
	}
	return st, nil
}

// SaveSyncState records a push, or progress within one.
func (s *Store) SaveSyncState(ctx context.Context, kind entity.Kind, id string, st SyncState) error {
	if st.AttachedOrgIDs == nil {
		st.AttachedOrgIDs = []string{}
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sync_state (entity_kind, entity_id, intercom_id, pushed_hash, fields_hash, attached_org_ids, pushed_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, now(), CASE WHEN $7 THEN now() END)
		ON CONFLICT (entity_kind, entity_id) DO UPDATE SET
			intercom_id = EXCLUDED.intercom_id, pushed_hash = EXCLUDED.pushed_hash,
			fields_hash = EXCLUDED.fields_hash, attached_org_ids = EXCLUDED.attached_org_ids,
			pushed_at = now(), deleted_at = EXCLUDED.deleted_at`,
		kind.Record(), id, st.IntercomID, st.Hash, st.FieldsHash, st.AttachedOrgIDs, st.Deleted)
	if err != nil {
		return fmt.Errorf("save sync state %s/%s: %w", kind, id, err)
	}
	return nil
}
