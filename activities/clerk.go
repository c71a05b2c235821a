package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// ApplyClerkEvent writes a Clerk delivery to the app database. The svix-id
// is recorded in the same transaction, so a redelivery, or a second run of
// this activity, reports Duplicate and writes nothing; an event older than
// the stored row reports Changed=false.
func (a *Activities) ApplyClerkEvent(ctx context.Context, d clerk.Delivery) (store.ApplyResult, error) {
	res, err := a.Store.ApplyClerkEvent(ctx, d.SvixID, d.Type, d.EntityID, d.Data)
	if err != nil {
		if store.IsBadEvent(err) {
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("event %s (%s): %v", d.SvixID, d.Type, err), ErrTypeBadEvent, err)
		}
		return res, fmt.Errorf("apply %s %s: %w", d.Type, d.SvixID, err)
	}
	a.Log.WithFields(map[string]any{
		"svix_id": d.SvixID, "event": d.Type, "entity_id": d.EntityID,
		"duplicate": res.Duplicate, "changed": res.Changed,
	}).Info("Applied Clerk event")
	return res, nil
}
