package positions_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// The table comes from the app database's migrations (00002), as in a
// deployment where POSITIONS_DATABASE_URL defaults to DATABASE_URL.
func open(t *testing.T, rows ...[2]string) *positions.Store {
	t.Helper()
	_, dsn := testenv.Store(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, r := range rows {
		if _, err := conn.Exec(ctx, `INSERT INTO member_positions (membernumber, position) VALUES ($1, $2)`, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := positions.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestForMemberIsStableAndClean(t *testing.T) {
	s := open(t,
		[2]string{"100001", "Facility President"},
		[2]string{"100001", "Area Representative"},
		[2]string{"100001", "  Area Representative "}, // the same position, padded
		[2]string{"100001", " "},
		[2]string{"100002", "Regional Vice President"},
	)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		got, err := s.ForMember(ctx, "100001")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%q", got) != `["Area Representative" "Facility President"]` {
			t.Fatalf("positions = %q", got)
		}
	}
	got, err := s.ForMember(ctx, " 100002 ")
	if err != nil || len(got) != 1 || got[0] != "Regional Vice President" {
		t.Fatalf("padded member number: %q, %v", got, err)
	}
	none, err := s.ForMember(ctx, "424242")
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("member without positions: %#v, %v (want an empty, non-nil slice)", none, err)
	}
}

func TestDatabaseDownIsAnError(t *testing.T) {
	s, err := positions.Open(context.Background(), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ForMember(context.Background(), "100001"); err == nil {
		t.Fatal("no error from a dead database")
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded against a dead port")
	}
}
