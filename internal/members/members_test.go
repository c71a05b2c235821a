package members_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// directory opens the demo member database (deploy/local/members.sql) plus
// rows for the matching rules.
func directory(t *testing.T) *members.Directory {
	t.Helper()
	dsn, db := testenv.Members(t)
	_, err := db.Exec(`INSERT INTO members
		(membernumber, firstname, lastname, email, phone, region, facility, status, membertypeid) VALUES
		('100020', 'Pad',   'Ded',    '  padded@example.com  ', NULL, 'R1', 'F1', 'Active',   1),
		('100030', 'Ret',   'Older',  'both@example.com',       NULL, 'R1', 'F1', 'Retired',  1),
		('100031', 'Act',   'Newer',  'BOTH@example.com',       NULL, 'R2', 'F2', 'Active',   2),
		('100100', 'Long',  'Number', 'twins@example.com',      NULL, 'R1', 'F1', 'Active',   1),
		('99999',  'Short', 'Number', 'twins@example.com',      NULL, 'R1', 'F1', 'Active',   1),
		('100200', 'Old',   'Retiree','retirees@example.com',   NULL, 'R1', 'F1', 'Retired',  1),
		('100201', 'Other', 'Retiree','retirees@example.com',   NULL, 'R1', 'F1', 'Retired',  1),
		('100300', 'Gone',  'Member', 'gone@example.com',       NULL, 'R1', 'F1', 'Suspended', 1)`)
	if err != nil {
		t.Fatal(err)
	}
	d, err := members.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestFindByEmail(t *testing.T) {
	d := directory(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, email, want string
	}{
		{"exact", "ada.lovelace@example.com", "100001"},
		{"case-insensitive (row mixed case)", "grace.hopper@example.com", "100002"},
		{"case-insensitive (query upper case)", "GRACE.HOPPER@EXAMPLE.COM", "100002"},
		{"row upper case", "edsger@example.com", "100004"},
		{"spaces around the query", "  ada.lovelace@example.com\t", "100001"},
		{"spaces around the stored email", "padded@example.com", "100020"},
		{"retired member counts", "alan.turing@example.com", "100003"},
		{"active wins over an inactive duplicate", "ken@example.com", "100008"},
		{"active wins over retired, even with a higher number", "both@example.com", "100031"},
		{"lowest member number, compared as a number", "twins@example.com", "99999"},
		{"lowest member number among retired", "retirees@example.com", "100200"},
		{"inactive only", "barbara.liskov@example.com", ""},
		{"suspended only", "gone@example.com", ""},
		{"unknown", "nobody@example.com", ""},
		{"blank", "   ", ""},
		{"a LIKE pattern is not a wildcard", "%@example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := d.FindByEmail(ctx, tc.email)
			if tc.want == "" {
				if !errors.Is(err, members.ErrNotFound) {
					t.Fatalf("got %+v, %v; want ErrNotFound", m, err)
				}
				return
			}
			if err != nil || m.Number != tc.want {
				t.Fatalf("got %+v, %v; want member %s", m, err, tc.want)
			}
		})
	}
}

func TestFindByEmailReadsEveryColumn(t *testing.T) {
	d := directory(t)
	m, err := d.FindByEmail(context.Background(), "alan.turing@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := members.Member{Number: "100003", FirstName: "Alan", LastName: "Turing", Email: "alan.turing@example.com",
		Phone: "+1 765 465 7033", Region: "R2", Facility: "F201", Status: "Retired", TypeID: 2}
	if m != want {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
	if !m.Retired() {
		t.Fatal("Retired() = false")
	}
	// NULL columns read as empty values.
	m, err = d.FindByEmail(context.Background(), "frances.allen@example.com")
	if err != nil || m.Phone != "" || m.Number != "100009" {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func TestFindByNumber(t *testing.T) {
	d := directory(t)
	ctx := context.Background()
	for number, want := range map[string]string{
		"100001": "100001", " 100003 ": "100003", "100005": "", "100300": "", "424242": "", "": "",
	} {
		m, err := d.FindByNumber(ctx, number)
		if want == "" {
			if !errors.Is(err, members.ErrNotFound) {
				t.Errorf("FindByNumber(%q) = %+v, %v; want ErrNotFound", number, m, err)
			}
			continue
		}
		if err != nil || m.Number != want {
			t.Errorf("FindByNumber(%q) = %+v, %v; want %s", number, m, err, want)
		}
	}
}

// A member database that does not answer is an error (never "not found"),
// and a prompt one: the dial timeout bounds it.
func TestDatabaseDownIsAnError(t *testing.T) {
	d, err := members.Open("members_ro:members_ro@tcp(127.0.0.1:1)/members")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := time.Now()
	_, err = d.FindByEmail(context.Background(), "ada.lovelace@example.com")
	if err == nil || errors.Is(err, members.ErrNotFound) {
		t.Fatalf("err = %v, want a database error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("failed after %s", took)
	}
	if err := d.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded against a dead port")
	}

	closed := directory(t)
	_ = closed.Close()
	if _, err := closed.FindByEmail(context.Background(), "ada.lovelace@example.com"); err == nil || errors.Is(err, members.ErrNotFound) {
		t.Fatalf("closed pool: err = %v, want a database error", err)
	}
}

func TestOpenRejectsABadDSNWithoutEchoingIt(t *testing.T) {
	_, err := members.Open("user:s3cret@tcp(host:3306")
	if err == nil {
		t.Fatal("a malformed DSN was accepted")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
