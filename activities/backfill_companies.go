package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// The backfill's companies: the listing it compares organizations with
// (ScanCompanies), each organization's company, and the index that maps
// organizations to companies for one batch.

func (b *batch) organizations(ctx context.Context) error {
	orgs, err := b.a.Store.BackfillOrgs(ctx, b.req.Filter, b.req.After, b.req.UpTo)
	if err != nil {
		return err
	}
	orgs = slices.DeleteFunc(orgs, func(o store.Org) bool { return b.isDone(o.ID) })
	if len(orgs) == 0 {
		return nil
	}
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	states, err := b.a.Store.SyncStates(ctx, entity.Organization, ids)
	if err != nil {
		return err
	}
	var listed map[string]json.RawMessage
	if b.req.CompanySnapshot {
		if listed, err = b.a.Store.CompanySnapshot(ctx, b.wfID, ids); err != nil {
			return err
		}
	}
	return b.each(ctx, len(orgs), func(ctx context.Context, i int) error {
		o := orgs[i]
		return b.entity(ctx, entity.Organization, o.ID, func() (outcome, error) {
			return b.organization(ctx, o, states[o.ID], listed)
		})
	})
}

func (b *batch) organization(ctx context.Context, o store.Org, st store.SyncState, listed map[string]json.RawMessage) (outcome, error) {
	a := b.a
	var have map[string]any
	if body, ok := listed[o.ID]; ok {
		if err := json.Unmarshal(body, &have); err != nil {
			return outcome{}, err
		}
	} else if !b.req.CompanySnapshot || (st.IntercomID != "" && !st.Deleted) {
		// No listing, or the listing lacks a company we pushed (Intercom
		// may leave companies without contacts out of lists; or it was
		// deleted there): ask, a read being cheaper than a needless write.
		c, err := a.Intercom.GetCompanyByCompanyID(ctx, o.ID)
		if err != nil {
			return outcome{}, fmt.Errorf("find company %s: %w", o.ID, err)
		}
		if c != nil {
			if have, err = asMap(c); err != nil {
				return outcome{}, err
			}
		}
	}
	haveID, _ := have["id"].(string)
	if o.Deleted {
		if haveID == "" {
			return b.unchanged(ctx, entity.Organization, o.ID, st, deletedState(st.IntercomID))
		}
		change := &BackfillChange{Kind: entity.Organization, EntityID: o.ID, Action: "delete"}
		if b.req.DryRun {
			return outcome{OutcomeDeleted, change}, nil
		}
		if err := a.Intercom.DeleteCompany(ctx, haveID); err != nil && !intercom.IsNotFound(err) {
			return outcome{}, fmt.Errorf("delete company %s: %w", haveID, err)
		}
		return outcome{OutcomeDeleted, change}, a.Store.SaveSyncState(ctx, entity.Organization, o.ID, deletedState(haveID))
	}
	t := a.orgCompany(o)
	fields, want := t.Fields, t.doneAs(haveID)
	diff := fieldDiff(a.attrs.writable("company", fields), have)
	if haveID != "" && len(diff) == 0 {
		return b.unchanged(ctx, entity.Organization, o.ID, st, want)
	}
	change := &BackfillChange{Kind: entity.Organization, EntityID: o.ID, Action: "update", Fields: diff}
	result := OutcomeUpdated
	if haveID == "" {
		change.Action, change.Fields, result = "create", nil, OutcomeCreated
	}
	if b.req.DryRun {
		return outcome{result, change}, nil
	}
	c, err := a.upsertCompany(ctx, o.ID, fields)
	if err != nil {
		return outcome{}, err
	}
	want.IntercomID = c.ID
	return outcome{result, change}, a.Store.SaveSyncState(ctx, entity.Organization, o.ID, want)
}

// attach attaches the contact to the organization's company. A company
// Intercom no longer has (deleted there since we pushed it) is pushed
// again and the attach repeated.
func (b *batch) attach(ctx context.Context, ci *companyIndex, contactID, orgID string) error {
	for refresh := false; ; refresh = true {
		companyID, err := ci.resolve(ctx, b.a, orgID, refresh)
		if err != nil {
			return fmt.Errorf("company for organization %s: %w", orgID, err)
		}
		if companyID == "" {
			return nil // the organization was deleted meanwhile
		}
		err = b.a.Intercom.AttachCompany(ctx, contactID, companyID)
		var ie *intercom.Error
		if !refresh && errors.As(err, &ie) && ie.Code == "company_not_found" {
			continue
		}
		if err != nil {
			return fmt.Errorf("attach contact %s to company %s: %w", contactID, companyID, err)
		}
		return nil
	}
}

// companyIndex maps organizations to their companies' Intercom ids and
// back, for one batch. A company pushed during the batch is added, and
// each organization's company is resolved by one entity at a time, so
// entities sharing an organization do not push it twice.
type companyIndex struct {
	mu      sync.Mutex
	byOrg   map[string]string // organization → Intercom company id
	orgOf   map[string]string // Intercom company id → organization, for companies that are ours
	pending map[string]*sync.Mutex
}

func (b *batch) companyIndex(ctx context.Context, orgIDs, companyIDs []string) (*companyIndex, error) {
	slices.Sort(orgIDs)
	states, err := b.a.Store.SyncStates(ctx, entity.Organization, slices.Compact(orgIDs))
	if err != nil {
		return nil, err
	}
	ours, err := b.a.Store.OrgsByCompanyID(ctx, companyIDs)
	if err != nil {
		return nil, err
	}
	ci := &companyIndex{byOrg: map[string]string{}, orgOf: ours, pending: map[string]*sync.Mutex{}}
	for orgID, st := range states {
		if st.IntercomID != "" && !st.Deleted {
			ci.byOrg[orgID] = st.IntercomID
			ci.orgOf[st.IntercomID] = orgID
		}
	}
	return ci, nil
}

// plan compares the companies a contact must have (those of orgIDs) with
// the ones it has. It returns the organizations to attach, and the
// companies to detach with their organizations. Companies that are not
// ours (no organization of this database) are left alone.
func (ci *companyIndex) plan(orgIDs, attached []string) (attach, detach, detachOrgs []string) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	want := map[string]bool{}
	for _, orgID := range orgIDs {
		id := ci.byOrg[orgID]
		want[id] = true
		if id == "" || !slices.Contains(attached, id) {
			attach = append(attach, orgID)
		}
	}
	for _, id := range attached {
		if orgID, ours := ci.orgOf[id]; ours && !want[id] && !slices.Contains(detach, id) {
			detach = append(detach, id)
			detachOrgs = append(detachOrgs, orgID)
		}
	}
	return attach, detach, detachOrgs
}

// resolve returns the organization's company id, pushing the organization
// when it has none (ensureCompany), or when refresh says the known one is
// gone from Intercom. "" for a deleted organization.
func (ci *companyIndex) resolve(ctx context.Context, a *Activities, orgID string, refresh bool) (string, error) {
	ci.mu.Lock()
	if id := ci.byOrg[orgID]; id != "" && !refresh {
		ci.mu.Unlock()
		return id, nil
	}
	known := ci.byOrg[orgID]
	lock := ci.pending[orgID]
	if lock == nil {
		lock = &sync.Mutex{}
		ci.pending[orgID] = lock
	}
	ci.mu.Unlock()

	lock.Lock()
	defer lock.Unlock()
	ci.mu.Lock()
	id := ci.byOrg[orgID]
	ci.mu.Unlock()
	if id != "" && id != known {
		return id, nil // another entity resolved it meanwhile
	}
	if refresh {
		res, err := a.pushOrg(ctx, orgID, true)
		if err != nil {
			return "", err
		}
		id = res.IntercomID
		if res.Outcome == OutcomeDeleted || res.Outcome == OutcomeAbsent {
			id = ""
		}
	} else {
		var err error
		if id, err = a.ensureCompany(ctx, orgID); err != nil {
			return "", err
		}
	}
	ci.mu.Lock()
	ci.byOrg[orgID] = id
	if id != "" {
		ci.orgOf[id] = orgID
	}
	ci.mu.Unlock()
	return id, nil
}

// ScanCompaniesRequest says how many organizations the backfill will look
// at, to choose between listing every company and looking each up.
type ScanCompaniesRequest struct {
	Organizations int `json:"organizations"`
}

// ScanCompaniesResult says whether the listing was kept (Snapshot) and
// what it cost.
type ScanCompaniesResult struct {
	Snapshot  bool `json:"snapshot"`
	Companies int  `json:"companies"`
	Pages     int  `json:"pages"`
}

// ScanCompanies lists every company in Intercom into the backfill's
// snapshot, which BackfillBatch compares organizations with: N
// organizations then cost a few scroll pages instead of N lookups. It
// scrolls (GET /companies/scroll), the one listing that has every
// company: GET /companies leaves out companies without users and stops
// at 10,000 (docs/intercom.md), and a deleted organization whose company
// it missed would never be deleted. When the first page shows that the
// backfill looks at fewer organizations than a scroll would read pages (a
// one-call estimate: the list's count of companies with users), it reports
// Snapshot false without scrolling: looking them up one by one is cheaper.
//
// A retried attempt scrolls again from the start (a scroll expires a
// minute after its last use); pages already saved are saved again. If
// another scroll is open in the workspace, the attempt fails and is
// retried after the minute that one takes to expire.
func (a *Activities) ScanCompanies(ctx context.Context, req ScanCompaniesRequest) (ScanCompaniesResult, error) {
	wfID := activity.GetInfo(ctx).WorkflowExecution.ID
	a = a.forBackfill("")
	if !activity.HasHeartbeatDetails(ctx) {
		// A backfill started again under the same workflow id must not
		// see the last one's listing.
		if err := a.Store.ClearCompanySnapshot(ctx, wfID); err != nil {
			return ScanCompaniesResult{}, err
		}
	}
	est, err := a.Intercom.ListCompanies(ctx, 1, 1)
	if err != nil {
		return ScanCompaniesResult{}, classify(fmt.Errorf("count companies: %w", err))
	}
	if pages := (est.TotalCount + intercom.MaxCompaniesPerPage - 1) / intercom.MaxCompaniesPerPage; req.Organizations < pages {
		return ScanCompaniesResult{}, nil
	}
	var (
		mu  sync.Mutex
		res ScanCompaniesResult
	)
	stop := heartbeatEvery(ctx, time.Second, func() any {
		mu.Lock()
		defer mu.Unlock()
		return res
	})
	defer stop()
	for param := ""; ; {
		page, err := a.Intercom.ScrollCompanies(ctx, param)
		if intercom.ScrollBusy(err) {
			return res, temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: scrollExpiry, Cause: err})
		}
		if err != nil {
			return res, classify(fmt.Errorf("scroll companies, page %d: %w", res.Pages+1, err))
		}
		if res.Pages == 0 && page.TotalCount != nil && len(page.Data) > 0 &&
			req.Organizations < (*page.TotalCount+len(page.Data)-1)/len(page.Data) {
			return ScanCompaniesResult{Pages: 1}, nil
		}
		if page.Done() {
			mu.Lock()
			res.Snapshot = true
			mu.Unlock()
			return res, nil
		}
		bodies := make(map[string]json.RawMessage, len(page.Data))
		for _, c := range page.Data {
			b, err := json.Marshal(c)
			if err != nil {
				return res, err
			}
			bodies[c.CompanyID] = b
		}
		if err := a.Store.SaveCompanySnapshot(ctx, wfID, bodies); err != nil {
			return res, err
		}
		mu.Lock()
		res.Companies += len(page.Data)
		res.Pages++
		mu.Unlock()
		param = page.ScrollParam
	}
}

// scrollExpiry is how long an unused scroll stays open (spec: "If the
// scroll isn't used for 1 minute, it expires").
const scrollExpiry = time.Minute
