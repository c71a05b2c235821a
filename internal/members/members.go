// Package members reads the legacy member directory: a MySQL table (or
// view) named members, read-only, through one pooled *sql.DB.
//
// The service needs these columns and nothing else, so an operator can
// point it at any database that has them, e.g. through a view:
//
//	membernumber  string or integer   the member number (unique)
//	firstname     string, nullable
//	lastname      string, nullable
//	email         string, nullable    matched case-insensitively, trimmed
//	phone         string, nullable    any format; normalised to E.164 on write
//	region        string, nullable
//	facility      string, nullable
//	status        string              only Active and Retired members count
//	membertypeid  integer, nullable   with status, decides member_type (TypeMap)
package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Status values that make a member visible to the sync; every other status
// (Inactive, Suspended, …) is treated as no member at all.
const (
	StatusActive  = "Active"
	StatusRetired = "Retired"
)

// Member is one row of the member directory. NULL columns read as "" (or
// 0 for TypeID).
type Member struct {
	Number    string
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Region    string
	Facility  string
	Status    string
	TypeID    int64
}

// Retired reports whether the member's status is Retired.
func (m Member) Retired() bool { return strings.EqualFold(strings.TrimSpace(m.Status), StatusRetired) }

// ErrNotFound is returned when no Active or Retired member matches.
var ErrNotFound = errors.New("member not found")

// Pool limits. The lookup API and the enrichment activities share one pool
// per process; a legacy MySQL server is usually small, so the cap is
// modest, and idle connections are recycled before a typical server-side
// wait_timeout or a NAT drops them.
const (
	maxOpenConns    = 16
	maxIdleConns    = 8
	connMaxLifetime = 5 * time.Minute
	connMaxIdleTime = time.Minute

	// Driver timeouts, applied when the DSN does not set its own: a dead
	// server must fail a lookup in seconds, not hang it.
	dialTimeout  = 5 * time.Second
	readTimeout  = 15 * time.Second
	writeTimeout = 15 * time.Second
)

// Directory looks members up. It is safe for concurrent use.
type Directory struct {
	db *sql.DB
}

// Open builds the pool for dsn (go-sql-driver form, e.g.
// "user:pass@tcp(host:3306)/members"). It does not connect: a member
// database that is down at start-up only fails lookups (and readiness)
// until it is back.
func Open(dsn string) (*Directory, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The driver's messages do not repeat the DSN, so no password leaks.
		return nil, fmt.Errorf("parse MEMBERS_MYSQL_DSN: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = dialTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = readTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = writeTimeout
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("member database: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	return &Directory{db: db}, nil
}

// Close releases the pool.
func (d *Directory) Close() error { return d.db.Close() }

// Ping checks the database answers.
func (d *Directory) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

const selectMember = `SELECT membernumber, firstname, lastname, email, phone, region, facility, status, membertypeid
FROM members
`

// orderBest puts the preferred row first when several match: Active before
// Retired, then the lowest member number. Member numbers are digit strings
// in a VARCHAR, so they are ordered by length first (numeric order, without
// a CAST that would fail on a stray non-digit value).
const orderBest = `
ORDER BY CASE WHEN status = 'Active' THEN 0 ELSE 1 END, CHAR_LENGTH(membernumber), membernumber
LIMIT 1`

// FindByEmail returns the Active or Retired member with that email,
// compared case-insensitively and ignoring surrounding spaces on both
// sides (legacy rows carry both). When several match, an Active member
// wins over a Retired one, then the lowest member number. No match is
// ErrNotFound.
//
// LOWER(TRIM(email)) rules out an index on email, so this is a scan of the
// table; it does not depend on the column's collation being
// case-insensitive, which a legacy database does not promise.
func (d *Directory) FindByEmail(ctx context.Context, email string) (Member, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return Member{}, ErrNotFound
	}
	return d.one(ctx, selectMember+`WHERE LOWER(TRIM(email)) = ? AND status IN ('Active', 'Retired')`+orderBest, email)
}

// FindByNumber returns the Active or Retired member with that member
// number (surrounding spaces ignored), or ErrNotFound. The column is
// compared as is, so its index (the primary key) serves the lookup.
func (d *Directory) FindByNumber(ctx context.Context, number string) (Member, error) {
	number = strings.TrimSpace(number)
	if number == "" {
		return Member{}, ErrNotFound
	}
	return d.one(ctx, selectMember+`WHERE membernumber = ? AND status IN ('Active', 'Retired')`+orderBest, number)
}

func (d *Directory) one(ctx context.Context, query string, arg string) (Member, error) {
	var (
		number, first, last, email, phone, region, facility, status sql.NullString
		typeID                                                      sql.NullInt64
	)
	err := d.db.QueryRowContext(ctx, query, arg).Scan(&number, &first, &last, &email, &phone, &region, &facility, &status, &typeID)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, fmt.Errorf("query member database: %w", err)
	}
	return Member{
		Number:    strings.TrimSpace(number.String),
		FirstName: first.String,
		LastName:  last.String,
		Email:     strings.TrimSpace(email.String),
		Phone:     phone.String,
		Region:    region.String,
		Facility:  facility.String,
		Status:    strings.TrimSpace(status.String),
		TypeID:    typeID.Int64,
	}, nil
}
