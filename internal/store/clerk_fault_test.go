package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// hideTable renames table away on the real database, the nearest a test
// gets to a database that fails one statement, and returns the undo.
func hideTable(t *testing.T, dsn, table string) (restore func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "ALTER TABLE "+table+" RENAME TO "+table+"_away"); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := conn.Exec(ctx, "ALTER TABLE "+table+"_away RENAME TO "+table); err != nil {
			t.Fatal(err)
		}
	}
}

// A database error on the membership path (the org upsert a membership
// event makes) is not a bad event: the workflow would skip it for good.
// Once the database is back the same delivery applies, because the failed
// transaction recorded nothing.
func TestMembershipDatabaseErrorIsNotABadEvent(t *testing.T) {
	s, dsn := testenv.Store(t)
	ctx := context.Background()
	org := clerksim.Org{ID: "org_f", Name: "Faulty", CreatedAtMs: 1, UpdatedAtMs: 1}
	m := clerksim.Membership{ID: "mem_f", UserID: "user_f", Org: org, CreatedAtMs: 1, UpdatedAtMs: 1}
	body := data(t, clerksim.MembershipEvent(clerk.MembershipCreated, m))

	restore := hideTable(t, dsn, "organizations")
	_, err := s.ApplyClerkEvent(ctx, "mf1", clerk.MembershipCreated, m.UserID, body)
	if err == nil {
		t.Fatal("applied with the organizations table gone")
	}
	if store.IsBadEvent(err) {
		t.Fatalf("database error classified as a bad event (would be skipped for good): %v", err)
	}
	restore()

	res, err := s.ApplyClerkEvent(ctx, "mf1", clerk.MembershipCreated, m.UserID, body)
	if err != nil || res.Duplicate || !res.Changed {
		t.Fatalf("after the database is back: %+v, %v; want applied", res, err)
	}
	if o, err := s.Org(ctx, org.ID); err != nil || o.Name != "Faulty" {
		t.Fatalf("org = %+v, %v", o, err)
	}
	if res, err := s.ApplyClerkEvent(ctx, "mf1", clerk.MembershipCreated, m.UserID, body); err != nil || !res.Duplicate {
		t.Fatalf("second apply: %+v, %v; want duplicate", res, err)
	}
}
