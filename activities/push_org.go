package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// PushOrg makes the organization's Intercom company match the database:
// created or updated by company_id (POST /companies is an upsert), or
// deleted when the organization is. Unchanged state costs no Intercom call.
func (a *Activities) PushOrg(ctx context.Context, req PushRequest) (PushResult, error) {
	res, err := a.pushOrg(ctx, req.EntityID, req.Force)
	return a.finishPush("organization", "org_id", req.EntityID, res, err)
}

func (a *Activities) pushOrg(ctx context.Context, orgID string, force bool) (PushResult, error) {
	o, err := a.Store.Org(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return PushResult{Outcome: OutcomeAbsent}, nil
	}
	if err != nil {
		return PushResult{}, err
	}
	st, err := a.Store.SyncState(ctx, entity.Organization, orgID)
	if err != nil {
		return PushResult{}, err
	}
	if o.Deleted {
		return a.deleteCompany(ctx, orgID, st)
	}
	want := a.orgCompany(o)
	if st.Hash == want.Done.Hash && st.IntercomID != "" && !st.Deleted && !force {
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeUnchanged}, nil
	}
	c, err := a.upsertCompany(ctx, orgID, want.Fields)
	if err != nil {
		return PushResult{}, err
	}
	outcome := OutcomeUpdated
	if st.IntercomID == "" {
		outcome = OutcomeCreated
	}
	err = a.Store.SaveSyncState(ctx, entity.Organization, orgID, want.doneAs(c.ID))
	return PushResult{IntercomID: c.ID, Outcome: outcome}, err
}

// upsertCompany creates or updates the company (POST /companies is an
// upsert by company_id), its custom attributes ensured first.
func (a *Activities) upsertCompany(ctx context.Context, orgID string, fields intercom.Fields) (*intercom.Company, error) {
	var c *intercom.Company
	err := a.withAttributes(ctx, "company", fields, func(fields intercom.Fields) (err error) {
		c, err = a.Intercom.UpsertCompany(ctx, fields)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert company %s: %w", orgID, err)
	}
	return c, nil
}

// ensureCompany returns the Intercom id of the organization's company,
// pushing the organization first if it has never been pushed (a user's
// membership can be synced before its organization's own event). It
// returns "" for a deleted organization.
func (a *Activities) ensureCompany(ctx context.Context, orgID string) (string, error) {
	st, err := a.Store.SyncState(ctx, entity.Organization, orgID)
	if err != nil {
		return "", err
	}
	if st.Deleted {
		return "", nil
	}
	if st.IntercomID != "" {
		return st.IntercomID, nil
	}
	res, err := a.pushOrg(ctx, orgID, false)
	if err != nil {
		return "", err
	}
	if res.Outcome == OutcomeDeleted {
		return "", nil
	}
	return res.IntercomID, nil
}

func (a *Activities) deleteCompany(ctx context.Context, orgID string, st store.SyncState) (PushResult, error) {
	if st.Deleted {
		return PushResult{IntercomID: st.IntercomID, Outcome: OutcomeAbsent}, nil
	}
	id := st.IntercomID
	if id == "" {
		c, err := a.Intercom.GetCompanyByCompanyID(ctx, orgID)
		if err != nil {
			return PushResult{}, fmt.Errorf("find company %s: %w", orgID, err)
		}
		if c != nil {
			id = c.ID
		}
	}
	outcome := OutcomeAbsent
	if id != "" {
		err := a.Intercom.DeleteCompany(ctx, id)
		if err == nil {
			outcome = OutcomeDeleted
		} else if !intercom.IsNotFound(err) { // 404: already gone
			return PushResult{}, fmt.Errorf("delete company %s: %w", id, err)
		}
	}
	err := a.Store.SaveSyncState(ctx, entity.Organization, orgID, deletedState(id))
	return PushResult{IntercomID: id, Outcome: outcome}, err
}
