package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/jackc/pgx/v5"
)

// BackfillFilter selects what a backfill syncs. The zero value selects
// everything, tombstones included (a deleted user's contact must go).
type BackfillFilter struct {
	// OrgIDs selects these organizations, the users with a membership in
	// one of them (ended memberships too: the contact may have to be
	// detached), and their invitations.
	OrgIDs []string `json:"org_ids,omitempty"`
	// UserIDs selects these users and their organizations. With OrgIDs,
	// the selections add up.
	UserIDs []string `json:"user_ids,omitempty"`
	// UpdatedSince keeps only rows changed in the database at or after
	// this time (a user also when one of its memberships changed).
	UpdatedSince *time.Time `json:"updated_since,omitempty"`
}

func (f BackfillFilter) byID() bool { return len(f.OrgIDs) > 0 || len(f.UserIDs) > 0 }

// where is the condition selecting kind's rows (aliased t) under f; its
// parameters are appended to args.
func (f BackfillFilter) where(kind entity.Kind, args *[]any) (string, error) {
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	orgs, users := f.OrgIDs, f.UserIDs
	if orgs == nil {
		orgs = []string{}
	}
	if users == nil {
		users = []string{}
	}
	var conds []string
	switch kind {
	case entity.Organization:
		if f.byID() {
			conds = append(conds, fmt.Sprintf(
				`(t.id = ANY(%s) OR t.id IN (SELECT m.org_id FROM memberships m WHERE m.user_id = ANY(%s)))`, arg(orgs), arg(users)))
		}
		if f.UpdatedSince != nil {
			conds = append(conds, "t.row_updated_at >= "+arg(*f.UpdatedSince))
		}
	case entity.User:
		if f.byID() {
			conds = append(conds, fmt.Sprintf(
				`(t.id = ANY(%s) OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = t.id AND m.org_id = ANY(%s)))`, arg(users), arg(orgs)))
		}
		if f.UpdatedSince != nil {
			since := arg(*f.UpdatedSince)
			conds = append(conds, fmt.Sprintf(
				`(t.row_updated_at >= %[1]s OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = t.id AND m.row_updated_at >= %[1]s))`, since))
		}
	case entity.Invitation:
		if f.byID() {
			conds = append(conds, fmt.Sprintf(`(t.org_id = ANY(%s) OR t.user_id = ANY(%s))`, arg(orgs), arg(users)))
		}
		if f.UpdatedSince != nil {
			conds = append(conds, "t.row_updated_at >= "+arg(*f.UpdatedSince))
		}
	default:
		return "", fmt.Errorf("unknown backfill kind %q", kind)
	}
	if len(conds) == 0 {
		return "true", nil
	}
	return strings.Join(conds, " AND "), nil
}

// BackfillCount counts kind's rows under f.
func (s *Store) BackfillCount(ctx context.Context, kind entity.Kind, f BackfillFilter) (int, error) {
	var args []any
	cond, err := f.where(kind, &args)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM `+kind.Plural()+` t WHERE `+cond, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", kind, err)
	}
	return n, nil
}

// BackfillRange is the next page of kind's rows under f in keyset order:
// the rows with id > after, at most limit of them. It returns the last id
// and how many there are (0 at the end). The page is then (after, upTo]:
// a range, so that a batch reloads exactly its rows without carrying
// their ids.
func (s *Store) BackfillRange(ctx context.Context, kind entity.Kind, f BackfillFilter, after string, limit int) (upTo string, n int, err error) {
	args := []any{after, limit}
	cond, err := f.where(kind, &args)
	if err != nil {
		return "", 0, err
	}
	err = s.pool.QueryRow(ctx, `
		SELECT count(*), COALESCE(max(id), '') FROM (
			SELECT t.id FROM `+kind.Plural()+` t WHERE t.id > $1 AND `+cond+`
			ORDER BY t.id LIMIT $2) page`, args...).Scan(&n, &upTo)
	if err != nil {
		return "", 0, fmt.Errorf("page %s after %q: %w", kind, after, err)
	}
	return upTo, n, nil
}

// BackfillOrgs loads the organizations of the range (after, upTo] under f.
func (s *Store) BackfillOrgs(ctx context.Context, f BackfillFilter, after, upTo string) ([]Org, error) {
	args := []any{after, upTo}
	cond, err := f.where(entity.Organization, &args)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT t.id, t.name, t.slug, t.clerk_created_at, t.clerk_updated_at, t.deleted_at IS NOT NULL
		FROM organizations t WHERE t.id > $1 AND t.id <= $2 AND `+cond+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load organizations (%q, %q]: %w", after, upTo, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Org, error) {
		var o Org
		return o, r.Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAtMs, &o.UpdatedAtMs, &o.Deleted)
	})
}

// BackfillUsers loads the users of the range (after, upTo] under f, each
// with its OrgIDs as User computes them.
func (s *Store) BackfillUsers(ctx context.Context, f BackfillFilter, after, upTo string) ([]User, error) {
	args := []any{after, upTo}
	cond, err := f.where(entity.User, &args)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT t.id, t.email, t.first_name, t.last_name, t.clerk_created_at, t.clerk_updated_at, t.deleted_at IS NOT NULL,
			COALESCE((SELECT array_agg(DISTINCT m.org_id ORDER BY m.org_id) FROM memberships m
				JOIN organizations o ON o.id = m.org_id AND o.deleted_at IS NULL
				WHERE m.user_id = t.id AND m.deleted_at IS NULL), '{}')
		FROM users t WHERE t.id > $1 AND t.id <= $2 AND `+cond+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load users (%q, %q]: %w", after, upTo, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		var u User
		var email *string
		err := r.Scan(&u.ID, &email, &u.FirstName, &u.LastName, &u.CreatedAtMs, &u.UpdatedAtMs, &u.Deleted, &u.OrgIDs)
		if email != nil {
			u.Email = *email
		}
		return u, err
	})
}

// BackfillInvitation is an invitation with the live user it belongs to
// (PersonUserID), if any, and whether its organization is deleted.
type BackfillInvitation struct {
	Invitation
	PersonUserID string
	OrgDeleted   bool
}

// BackfillInvitations loads the invitations of the range (after, upTo]
// under f.
func (s *Store) BackfillInvitations(ctx context.Context, f BackfillFilter, after, upTo string) ([]BackfillInvitation, error) {
	args := []any{after, upTo}
	cond, err := f.where(entity.Invitation, &args)
	if err != nil {
		return nil, err
	}
	// The lateral join is PersonUserID, for every row at once.
	rows, err := s.pool.Query(ctx, `
		SELECT t.id, t.org_id, t.email, t.status, COALESCE(t.user_id, ''), COALESCE(p.id, ''),
			NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = t.org_id AND o.deleted_at IS NULL)
		FROM invitations t
		LEFT JOIN LATERAL (
			SELECT u.id FROM users u
			WHERE u.deleted_at IS NULL AND (u.id = COALESCE(t.user_id, '') OR (t.email <> '' AND lower(u.email) = lower(t.email)))
			ORDER BY u.id = COALESCE(t.user_id, '') DESC, u.id LIMIT 1) p ON true
		WHERE t.id > $1 AND t.id <= $2 AND `+cond+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load invitations (%q, %q]: %w", after, upTo, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (BackfillInvitation, error) {
		var i BackfillInvitation
		return i, r.Scan(&i.ID, &i.OrgID, &i.Email, &i.Status, &i.UserID, &i.PersonUserID, &i.OrgDeleted)
	})
}

// SyncStates returns the sync state of each of ids that has one.
func (s *Store) SyncStates(ctx context.Context, kind entity.Kind, ids []string) (map[string]SyncState, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT entity_id, intercom_id, pushed_hash, fields_hash, attached_org_ids, COALESCE(pushed_at, 'epoch'), deleted_at IS NOT NULL
		FROM sync_state WHERE entity_kind = $1 AND entity_id = ANY($2)`, kind.Record(), ids)
	if err != nil {
		return nil, fmt.Errorf("load sync states of %d %s: %w", len(ids), kind, err)
	}
	out := map[string]SyncState{}
	var id string
	var st SyncState
	_, err = pgx.ForEachRow(rows, []any{&id, &st.IntercomID, &st.Hash, &st.FieldsHash, &st.AttachedOrgIDs, &st.PushedAt, &st.Deleted}, func() error {
		row := st
		row.AttachedOrgIDs = slices.Clone(st.AttachedOrgIDs) // the scan target is reused
		out[id] = row
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load sync states of %d %s: %w", len(ids), kind, err)
	}
	return out, nil
}

// OrgsByCompanyID maps Intercom company ids to the organizations whose
// company they are (or were); ids that are no company of ours are absent.
func (s *Store) OrgsByCompanyID(ctx context.Context, intercomIDs []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT intercom_id, entity_id FROM sync_state
		WHERE entity_kind = $1 AND intercom_id = ANY($2) AND intercom_id <> ''`, entity.Organization.Record(), intercomIDs)
	if err != nil {
		return nil, fmt.Errorf("map companies to organizations: %w", err)
	}
	out := map[string]string{}
	var companyID, orgID string
	_, err = pgx.ForEachRow(rows, []any{&companyID, &orgID}, func() error {
		out[companyID] = orgID
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("map companies to organizations: %w", err)
	}
	return out, nil
}

// RecordBackfillFailure keeps an entity the backfill workflowID could not
// sync, with the error.
func (s *Store) RecordBackfillFailure(ctx context.Context, workflowID string, kind entity.Kind, id, msg string) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO backfill_failures (workflow_id, entity_kind, entity_id, error) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workflow_id, entity_kind, entity_id) DO UPDATE SET error = EXCLUDED.error, failed_at = now()`,
		workflowID, kind, id, msg)
	if err != nil {
		return fmt.Errorf("record backfill failure of %s %s: %w", kind, id, err)
	}
	return nil
}

// BackfillFailure is an entity a backfill could not sync.
type BackfillFailure struct {
	Kind     entity.Kind `json:"kind"`
	EntityID string      `json:"entity_id"`
	Error    string      `json:"error"`
	FailedAt time.Time   `json:"failed_at"`
}

// BackfillFailures lists the failures of a backfill, oldest first.
func (s *Store) BackfillFailures(ctx context.Context, workflowID string) ([]BackfillFailure, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT entity_kind, entity_id, error, failed_at FROM backfill_failures
		WHERE workflow_id = $1 ORDER BY failed_at, entity_kind, entity_id`, workflowID)
	if err != nil {
		return nil, fmt.Errorf("list backfill failures: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (BackfillFailure, error) {
		var f BackfillFailure
		return f, r.Scan(&f.Kind, &f.EntityID, &f.Error, &f.FailedAt)
	})
}

// SaveCompanySnapshot stores companies as Intercom listed them for the
// backfill workflowID, by company_id (JSON bodies).
func (s *Store) SaveCompanySnapshot(ctx context.Context, workflowID string, bodies map[string]json.RawMessage) error {
	ids := make([]string, 0, len(bodies))
	docs := make([]string, 0, len(bodies))
	for id, b := range bodies {
		ids = append(ids, id)
		docs = append(docs, string(b))
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO backfill_companies (workflow_id, company_id, body)
		SELECT $1, id, doc::jsonb FROM unnest($2::text[], $3::text[]) AS x(id, doc)
		ON CONFLICT (workflow_id, company_id) DO UPDATE SET body = EXCLUDED.body`, workflowID, ids, docs)
	if err != nil {
		return fmt.Errorf("save company snapshot: %w", err)
	}
	return nil
}

// CompanySnapshot returns the stored companies among companyIDs.
func (s *Store) CompanySnapshot(ctx context.Context, workflowID string, companyIDs []string) (map[string]json.RawMessage, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT company_id, body::text FROM backfill_companies WHERE workflow_id = $1 AND company_id = ANY($2)`,
		workflowID, companyIDs)
	if err != nil {
		return nil, fmt.Errorf("load company snapshot: %w", err)
	}
	out := map[string]json.RawMessage{}
	var id, body string
	_, err = pgx.ForEachRow(rows, []any{&id, &body}, func() error {
		out[id] = json.RawMessage(body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load company snapshot: %w", err)
	}
	return out, nil
}

// ClearCompanySnapshot deletes the backfill's stored companies.
func (s *Store) ClearCompanySnapshot(ctx context.Context, workflowID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM backfill_companies WHERE workflow_id = $1`, workflowID); err != nil {
		return fmt.Errorf("clear company snapshot: %w", err)
	}
	return nil
}
