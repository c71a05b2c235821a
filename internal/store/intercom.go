package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ClaimIntercomNotification records that the workflow run runID handles
// the Intercom notification id. It reports true when runID holds the claim
// (it has just taken it, or took it on an earlier attempt), false when
// another run took it first: the notification is a redelivery. The insert
// is ON CONFLICT DO NOTHING, so two concurrent claims cannot both win.
func (s *Store) ClaimIntercomNotification(ctx context.Context, id, topic, contactID, runID string) (bool, error) {
	var owner string
	err := s.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO intercom_notifications (notification_id, topic, contact_id, run_id)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (notification_id) DO NOTHING
			RETURNING run_id
		)
		SELECT run_id FROM ins
		UNION ALL
		SELECT run_id FROM intercom_notifications WHERE notification_id = $1
		LIMIT 1`, id, topic, contactID, runID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent claim committed after this statement's snapshot was
		// taken: the insert yielded to it, but the snapshot cannot see it.
		// A new statement can.
		err = s.pool.QueryRow(ctx, `SELECT run_id FROM intercom_notifications WHERE notification_id = $1`, id).Scan(&owner)
	}
	if err != nil {
		return false, fmt.Errorf("record Intercom notification %s: %w", id, err)
	}
	return owner == runID, nil
}
