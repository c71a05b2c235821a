package activities_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// A brief database error while a membership event is applied must reach
// Temporal as a retryable failure (a BadEvent is skipped by the workflow,
// and Svix already had its 200): the retry then applies the event, and a
// second run of the activity finds it applied.
func TestApplyClerkEventRetriesADatabaseError(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	body := clerksim.MembershipEvent(clerk.MembershipCreated, membership)
	env, err := clerk.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	d := clerk.Delivery{SvixID: "mdb1", Type: env.Type, EntityID: membership.UserID, Data: env.Data}

	exec("ALTER TABLE organizations RENAME TO organizations_away") // the database fails the org upsert
	_, err = f.env.ExecuteActivity(f.acts.ApplyClerkEvent, d)
	if err == nil {
		t.Fatal("applied with the organizations table gone")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.NonRetryable() || appErr.Type() == "BadEvent") {
		t.Fatalf("database error is %s non-retryable=%v: the event would be dropped", appErr.Type(), appErr.NonRetryable())
	}
	exec("ALTER TABLE organizations_away RENAME TO organizations") // the database is back

	if r := f.apply("mdb1", body); !r.Changed || r.Duplicate {
		t.Fatalf("retry after the database is back: %+v, want applied", r)
	}
	if r := f.apply("mdb1", body); !r.Duplicate || r.Changed {
		t.Fatalf("second run: %+v, want duplicate", r)
	}
}
