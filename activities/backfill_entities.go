package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Each entity of a batch is compared with what Intercom holds and only the
// difference is written, through the same targets (userContact,
// orgCompany, invitedContact: sync_state.go) and write paths
// (upsertCompany, createContact, deleteContacts, pushUser) as the pushes.
// The sync state is then set to the target's, so the next push of the
// entity skips what the backfill already wrote.

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
	diff := fieldDiff(fields, have)
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

func (b *batch) users(ctx context.Context) error {
	users, err := b.a.Store.BackfillUsers(ctx, b.req.Filter, b.req.After, b.req.UpTo)
	if err != nil {
		return err
	}
	users = slices.DeleteFunc(users, func(u store.User) bool { return b.isDone(u.ID) })
	if len(users) == 0 {
		return nil
	}
	ids := make([]string, len(users))
	var orgIDs []string
	for i, u := range users {
		ids[i] = u.ID
		orgIDs = append(orgIDs, u.OrgIDs...)
	}
	seen, companyIDs, err := b.contacts(ctx, ids)
	if err != nil {
		return err
	}
	states, err := b.a.Store.SyncStates(ctx, entity.User, ids)
	if err != nil {
		return err
	}
	ci, err := b.companyIndex(ctx, orgIDs, companyIDs)
	if err != nil {
		return err
	}
	return b.each(ctx, len(users), func(ctx context.Context, i int) error {
		u := users[i]
		return b.entity(ctx, entity.User, u.ID, func() (outcome, error) {
			return b.user(ctx, u, seen[u.ID], states[u.ID], ci)
		})
	})
}

func (b *batch) user(ctx context.Context, u store.User, seen *intercom.Contact, st store.SyncState, ci *companyIndex) (outcome, error) {
	a := b.a
	if u.Deleted {
		return b.deleteContact(ctx, entity.User, u.ID, seen, st)
	}
	invited, err := a.Store.InvitedContactsOf(ctx, u.ID, u.Email)
	if err != nil {
		return outcome{}, err
	}
	if len(invited) > 0 {
		// Taking invited contacts over (adopting one, merging the others'
		// companies, deleting them) is pushUser's job; force makes it
		// write everything, as it cannot know what Intercom holds.
		change := &BackfillChange{Kind: entity.User, EntityID: u.ID, Action: "update",
			Note: fmt.Sprintf("takes over %d invited contact(s)", len(invited))}
		if seen == nil {
			change.Action = "create"
		}
		if b.req.DryRun {
			return outcome{OutcomeUpdated, change}, nil
		}
		if _, err := a.pushUser(ctx, u.ID, true); err != nil {
			return outcome{}, err
		}
		return outcome{OutcomeUpdated, change}, nil
	}
	t := a.userContact(u)
	return b.contact(ctx, contactJob{
		kind: entity.User, id: u.ID, externalID: u.ID,
		fields: t.Fields, orgIDs: u.OrgIDs, seen: seen, st: st, want: t.Done,
	}, ci)
}

// contactJob is a contact as it must be in Intercom.
type contactJob struct {
	kind           entity.Kind
	id, externalID string
	fields         intercom.Fields
	orgIDs         []string // organizations whose companies it is attached to
	// invited: it carries the invited-user tag, whose id is tagID ("" if
	// the workspace has no such tag yet).
	invited  bool
	tagID    string
	seen     *intercom.Contact
	st, want store.SyncState
}

// contact makes one contact match: created or updated when its fields
// differ, attached to and detached from companies, tagged.
func (b *batch) contact(ctx context.Context, j contactJob, ci *companyIndex) (outcome, error) {
	a := b.a
	var diff, companies []string
	tagged := false
	if j.seen != nil {
		have, err := asMap(j.seen)
		if err != nil {
			return outcome{}, err
		}
		diff = fieldDiff(j.fields, have)
		if companies, err = b.companiesOf(ctx, j.seen); err != nil {
			return outcome{}, err
		}
		tagged = j.tagID != "" && slices.ContainsFunc(j.seen.Tags.Data, func(r intercom.Ref) bool { return r.ID == j.tagID })
	}
	attach, detach, detachOrgs := ci.plan(j.orgIDs, companies)
	if j.seen != nil && len(diff) == 0 && len(attach) == 0 && len(detach) == 0 && (tagged || !j.invited) {
		j.want.IntercomID = j.seen.ID
		return b.unchanged(ctx, j.kind, j.id, j.st, j.want)
	}
	change := &BackfillChange{Kind: j.kind, EntityID: j.id, Action: "update", Fields: diff, Attach: attach, Detach: detachOrgs}
	result := OutcomeUpdated
	if j.seen == nil {
		change.Action, result = "create", OutcomeCreated
	}
	if j.invited && !tagged {
		change.Note = "tag " + InvitedTag
	}
	if b.req.DryRun {
		return outcome{result, change}, nil
	}

	contactID := ""
	if j.seen != nil {
		contactID = j.seen.ID
	}
	if j.seen == nil || len(diff) > 0 {
		var how PushOutcome
		err := a.withAttributes(ctx, "contact", func() error {
			if j.seen != nil {
				c, err := a.Intercom.UpdateContact(ctx, j.seen.ID, j.fields)
				if err == nil {
					contactID, how = c.ID, OutcomeUpdated
					return nil
				}
				if !intercom.IsNotFound(err) {
					return fmt.Errorf("update contact %s: %w", j.seen.ID, err)
				}
				// Deleted in Intercom since the search: make it again.
			}
			var err error
			contactID, how, err = a.createContact(ctx, j.externalID, j.fields)
			return err
		})
		if err != nil {
			return outcome{}, err
		}
		if j.seen == nil && how == OutcomeUpdated {
			// A 409 named an existing contact (it had lost its
			// external_id, or search lagged): updated, not created.
			change.Action, result = "update", OutcomeUpdated
		}
		if j.seen == nil || contactID != j.seen.ID {
			// A new contact has no companies; one a 409 named may have
			// some.
			companies = nil
			if how == OutcomeUpdated {
				if companies, err = a.Intercom.ContactCompanyIDs(ctx, contactID); err != nil {
					return outcome{}, fmt.Errorf("companies of contact %s: %w", contactID, err)
				}
			}
			attach, detach, _ = ci.plan(j.orgIDs, companies)
			tagged = false
		}
	}
	// A tag goes on first: the contact is then findable as invited even
	// if the rest fails.
	if j.invited && !tagged {
		if err := a.tagInvited(ctx, contactID); err != nil {
			return outcome{}, err
		}
	}
	for _, orgID := range attach {
		if err := b.attach(ctx, ci, contactID, orgID); err != nil {
			return outcome{}, err
		}
	}
	for _, companyID := range detach {
		err := a.Intercom.DetachCompany(ctx, contactID, companyID)
		if err != nil && !intercom.IsNotFound(err) { // 404: already detached, or the company is gone
			return outcome{}, fmt.Errorf("detach contact %s from company %s: %w", contactID, companyID, err)
		}
	}
	j.want.IntercomID = contactID
	return outcome{result, change}, a.Store.SaveSyncState(ctx, j.kind, j.id, j.want)
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

// deleteContact makes sure the contact of a deleted user or revoked
// invitation is gone.
func (b *batch) deleteContact(ctx context.Context, kind entity.Kind, id string, seen *intercom.Contact, st store.SyncState) (outcome, error) {
	if seen == nil {
		return b.unchanged(ctx, kind, id, st, deletedState(st.IntercomID))
	}
	change := &BackfillChange{Kind: kind, EntityID: id, Action: "delete"}
	if b.req.DryRun {
		return outcome{OutcomeDeleted, change}, nil
	}
	_, err := b.a.deleteContacts(ctx, kind, id, []string{seen.ID})
	return outcome{OutcomeDeleted, change}, err
}

func (b *batch) invitations(ctx context.Context) error {
	invs, err := b.a.Store.BackfillInvitations(ctx, b.req.Filter, b.req.After, b.req.UpTo)
	if err != nil {
		return err
	}
	invs = slices.DeleteFunc(invs, func(i store.BackfillInvitation) bool { return b.isDone(i.ID) })
	if len(invs) == 0 {
		return nil
	}
	ids := make([]string, len(invs))
	exts := make([]string, len(invs))
	var orgIDs []string
	for i, inv := range invs {
		ids[i], exts[i] = inv.ID, InvitedExternalID(inv.ID)
		orgIDs = append(orgIDs, inv.OrgID)
	}
	seen, companyIDs, err := b.contacts(ctx, exts)
	if err != nil {
		return err
	}
	states, err := b.a.Store.SyncStates(ctx, entity.Invitation, ids)
	if err != nil {
		return err
	}
	ci, err := b.companyIndex(ctx, orgIDs, companyIDs)
	if err != nil {
		return err
	}
	// Read, never create: a run with nothing to change writes nothing.
	tagID, err := b.a.findInvitedTagID(ctx)
	if err != nil {
		return err
	}
	return b.each(ctx, len(invs), func(ctx context.Context, i int) error {
		inv := invs[i]
		return b.entity(ctx, entity.Invitation, inv.ID, func() (outcome, error) {
			return b.invitation(ctx, inv, seen[InvitedExternalID(inv.ID)], states[inv.ID], ci, tagID)
		})
	})
}

// invitation follows pushInvitation's rules: a pending invitation whose
// person has no user yet has an invited contact; a revoked one, or one
// absorbed into its user's contact, has none; once the person is a user,
// the user's contact takes the invited one over.
func (b *batch) invitation(ctx context.Context, inv store.BackfillInvitation, seen *intercom.Contact, st store.SyncState, ci *companyIndex, tagID string) (outcome, error) {
	a := b.a
	if st.Deleted || inv.Status == store.InvitationRevoked {
		return b.deleteContact(ctx, entity.Invitation, inv.ID, seen, st)
	}
	if inv.PersonUserID != "" || inv.Status == store.InvitationAccepted {
		if seen == nil || inv.PersonUserID == "" {
			// Nothing to take over, or the user's sync will when the user
			// arrives.
			return outcome{result: OutcomeUnchanged}, nil
		}
		change := &BackfillChange{Kind: entity.Invitation, EntityID: inv.ID, Action: "update",
			Note: "taken over by user " + inv.PersonUserID}
		if b.req.DryRun {
			return outcome{OutcomeUpdated, change}, nil
		}
		if st.IntercomID != seen.ID {
			// The user's push finds invited contacts through the sync state.
			st.IntercomID = seen.ID
			if err := a.Store.SaveSyncState(ctx, entity.Invitation, inv.ID, st); err != nil {
				return outcome{}, err
			}
		}
		if _, err := a.pushUser(ctx, inv.PersonUserID, false); err != nil {
			return outcome{}, err
		}
		return outcome{OutcomeUpdated, change}, nil
	}
	t := a.invitedContact(inv.Invitation)
	var orgIDs []string
	if !inv.OrgDeleted {
		orgIDs = []string{inv.OrgID}
	}
	return b.contact(ctx, contactJob{
		kind: entity.Invitation, id: inv.ID, externalID: InvitedExternalID(inv.ID),
		fields: t.Fields, orgIDs: orgIDs, invited: true, tagID: tagID, seen: seen, st: st, want: t.Done,
	}, ci)
}

// contacts reads the contacts of these external ids (one search per 150)
// and lists the companies they are attached to.
func (b *batch) contacts(ctx context.Context, externalIDs []string) (map[string]*intercom.Contact, []string, error) {
	found, err := b.a.Intercom.ContactsByExternalIDs(ctx, externalIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("search contacts: %w", err)
	}
	byExt := make(map[string]*intercom.Contact, len(found))
	var companies []string
	for i := range found {
		c := &found[i]
		if c.ExternalID == nil {
			continue
		}
		byExt[*c.ExternalID] = c
		for _, r := range c.Companies.Data {
			companies = append(companies, r.ID)
		}
	}
	return byExt, companies, nil
}

// companiesOf is every company attached to the contact: the contact
// object embeds a few; has_more says to list them all.
func (b *batch) companiesOf(ctx context.Context, c *intercom.Contact) ([]string, error) {
	if !c.Companies.HasMore && c.Companies.TotalCount <= len(c.Companies.Data) {
		ids := make([]string, len(c.Companies.Data))
		for i, r := range c.Companies.Data {
			ids[i] = r.ID
		}
		return ids, nil
	}
	ids, err := b.a.Intercom.ContactCompanyIDs(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("companies of contact %s: %w", c.ID, err)
	}
	return ids, nil
}

// unchanged records what Intercom holds as the entity's sync state when
// it says otherwise (a write to the database, none to Intercom).
func (b *batch) unchanged(ctx context.Context, kind entity.Kind, id string, have, want store.SyncState) (outcome, error) {
	if b.req.DryRun || sameState(have, want) {
		return outcome{result: OutcomeUnchanged}, nil
	}
	return outcome{result: OutcomeUnchanged}, b.a.Store.SaveSyncState(ctx, kind, id, want)
}

func sameState(x, y store.SyncState) bool {
	return x.IntercomID == y.IntercomID && x.Hash == y.Hash && x.FieldsHash == y.FieldsHash &&
		x.Deleted == y.Deleted && slices.Equal(x.AttachedOrgIDs, y.AttachedOrgIDs)
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

// fieldDiff names the fields of want that have holds differently (have is
// an Intercom object as JSON; nil: there is none, everything differs).
// Custom attributes compare key by key, and only those the sync writes:
// others (the enrichment's) are not the backfill's business.
func fieldDiff(want intercom.Fields, have map[string]any) []string {
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, h := want[k], have[k]
		switch k {
		case "custom_attributes":
			wm, _ := w.(map[string]any)
			hm, _ := h.(map[string]any)
			for _, ck := range slices.Sorted(maps.Keys(wm)) {
				if !sameValue(wm[ck], hm[ck]) {
					diff = append(diff, "custom_attributes."+ck)
				}
			}
		case "email":
			// Intercom matches emails case-insensitively and may store
			// them lower-cased.
			ws, _ := w.(string)
			hs, _ := h.(string)
			if !strings.EqualFold(strings.TrimSpace(ws), strings.TrimSpace(hs)) {
				diff = append(diff, k)
			}
		default:
			if !sameValue(w, h) {
				diff = append(diff, k)
			}
		}
	}
	return diff
}

// sameValue compares JSON values: numbers by value whatever their Go type,
// and "" the same as null (Intercom's empty).
func sameValue(x, y any) bool {
	if s, ok := x.(string); ok && s == "" {
		x = nil
	}
	if s, ok := y.(string); ok && s == "" {
		y = nil
	}
	bx, errX := json.Marshal(x)
	by, errY := json.Marshal(y)
	return errX == nil && errY == nil && string(bx) == string(by)
}

// asMap is v as its JSON object.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
