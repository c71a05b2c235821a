package emulator

import (
	"fmt"
	"slices"
	"time"
)

// Seeding helpers put data in place directly, as if it had existed in the
// workspace before the code under test ran. They apply the same identity
// rules as the API (so a seeded duplicate fails like a 409 would) but do
// not require custom attributes to be defined, since seeded data may
// predate the sync's attributes.

// AddContact stores a contact. Role defaults to "user"; ID, CreatedAt and
// UpdatedAt default from the clock. CompanyIDs and TagIDs must exist and
// are attached. MergedInto is ignored.
// The contact is in the search index at once (no SearchIndexDelay).
func (s *Server) AddContact(c Contact) (Contact, error) {
	return s.addContact(c, false)
}

// AddDuplicateUser stores a user like AddContact, except that it may share
// its email with other users (its external_id, if any, must still be
// unique). Real workspaces hold such duplicates — from imports, other
// integrations, or identities changed over the years — although the API
// refuses to create a new one; code that folds duplicates is tested with
// them.
func (s *Server) AddDuplicateUser(c Contact) (Contact, error) {
	if c.Role != "" && c.Role != "user" {
		return Contact{}, fmt.Errorf("role %q: only users are duplicates by email (leads may share one anyway)", c.Role)
	}
	return s.addContact(c, true)
}

func (s *Server) addContact(c Contact, sharedEmail bool) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	ct := c.clone()
	ct.MergedInto = ""
	if ct.Role == "" {
		ct.Role = "user"
	}
	if ct.Role != "user" && ct.Role != "lead" {
		return Contact{}, fmt.Errorf("role %q is not user or lead", ct.Role)
	}
	for _, id := range ct.CompanyIDs {
		if st.companies[id] == nil {
			return Contact{}, fmt.Errorf("company %q does not exist", id)
		}
	}
	for _, id := range ct.TagIDs {
		if st.tags[id] == nil {
			return Contact{}, fmt.Errorf("tag %q does not exist", id)
		}
	}
	ct.CompanyIDs = slices.Compact(slices.Clone(ct.CompanyIDs))
	ct.TagIDs = slices.Compact(slices.Clone(ct.TagIDs))
	now := s.now()
	ct.tagApplied = map[string]int64{}
	for _, id := range ct.TagIDs {
		ct.tagApplied[id] = now.Unix()
	}
	stored, err := s.insertContact(&ct, now, sharedEmail)
	if err != nil {
		return Contact{}, err
	}
	// Seeded data existed before the code under test ran: the search
	// index already has it.
	stored.created = time.Time{}
	for _, id := range stored.CompanyIDs {
		co := st.companies[id]
		co.ContactIDs = addString(co.ContactIDs, stored.ID)
	}
	return stored.clone(), nil
}

// AddCompany stores a company; CompanyID is required and must be unused.
// ContactIDs are ignored: attach contacts with AddContact's CompanyIDs or
// the API.
func (s *Server) AddCompany(c Company) (Company, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if c.CompanyID == "" {
		return Company{}, fmt.Errorf("company_id is required")
	}
	if _, ok := st.companyByExt[c.CompanyID]; ok {
		return Company{}, fmt.Errorf("company_id %q already exists", c.CompanyID)
	}
	if c.ID != "" && st.companies[c.ID] != nil {
		return Company{}, fmt.Errorf("company id %q already exists", c.ID)
	}
	co := c.clone()
	co.ContactIDs = []string{}
	for _, id := range co.TagIDs {
		if st.tags[id] == nil {
			return Company{}, fmt.Errorf("tag %q does not exist", id)
		}
	}
	st.insertCompany(&co, s.now())
	return co.clone(), nil
}
