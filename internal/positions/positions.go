// Package positions reads members' positions (Facility President, Area
// Representative, …) from a Postgres table
//
//	member_positions(membernumber text, position text)
//
// which lives in the app database by default (migration 00002 creates it
// if it is missing) or in another Postgres, e.g. the Supabase project that
// already holds it (POSITIONS_DATABASE_URL).
package positions

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Store reads positions through a pgx pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open builds the pool for url. Like pgxpool itself it connects lazily, so
// a positions database that is down at start-up only fails lookups (and
// readiness) until it is back.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can quote the URL; never echo a password.
		return nil, fmt.Errorf("parse POSITIONS_DATABASE_URL: %s", redactedParseError(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("positions database: %w", err)
	}
	return &Store{pool: pool}, nil
}

func redactedParseError(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "@") || strings.Contains(msg, "password") {
		return "invalid connection string"
	}
	return msg
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// ForMember returns the member's positions, each once, in a stable order
// (alphabetical), so the joined string written to Intercom only changes
// when the positions do. A member without positions gets an empty,
// non-nil slice.
func (s *Store) ForMember(ctx context.Context, memberNumber string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT btrim(position) AS p
		FROM member_positions
		WHERE membernumber = $1 AND position IS NOT NULL AND btrim(position) <> ''
		ORDER BY p`, strings.TrimSpace(memberNumber))
	if err != nil {
		return nil, fmt.Errorf("query positions: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("read positions: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read positions: %w", err)
	}
	return out, nil
}
