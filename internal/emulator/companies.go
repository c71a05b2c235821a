package emulator

import (
	"fmt"
	"slices"
	"time"
)

// companyFields are the fields of create_or_update_company_request
// (company_id, the upsert key, is read by the handler). Intercom answers
// any other top-level key with 400 bad_request "bad '<key>' parameter",
// which catches typos in a client.
var companyFields = []requestField[Company]{
	stringField("name", set(func(co *Company, v string) { co.Name = v })),
	stringField("plan", set(func(co *Company, v string) { co.Plan = v })),
	stringField("website", set(func(co *Company, v string) { co.Website = v })),
	stringField("industry", set(func(co *Company, v string) { co.Industry = v })),
	integerField("size", set(func(co *Company, v int64) { co.Size = v })),
	// Floats are truncated, like Intercom.
	integerField("monthly_spend", set(func(co *Company, v int64) { co.MonthlySpend = v })),
	integerField("remote_created_at", set(func(co *Company, v int64) { co.RemoteCreatedAt = v })),
	customAttributesField("company", func(co *Company) *map[string]any { return &co.CustomAttributes }),
}

// applyCompanyFields writes the fields present in f onto co.
func (s *Server) applyCompanyFields(co *Company, f fields) *apiError {
	for k := range f {
		known := k == "company_id" || slices.ContainsFunc(companyFields, func(c requestField[Company]) bool { return c.name == k })
		if !known {
			return badRequest(fmt.Sprintf("bad '%s' parameter", k))
		}
	}
	return applyFields(s, f, co, companyFields)
}

// upsertCompany is POST /companies: company_id is the upsert key. An
// existing company gets a partial update (custom attributes merged key by
// key); company_id itself can never change.
func (s *Server) upsertCompany(c *call) (any, *apiError) {
	st := s.st
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	companyID, _, err := f.str("company_id")
	if err != nil {
		return nil, err
	}
	if companyID == "" {
		// Intercom can create a company from a name alone, but then it is
		// unreachable by our id; the sync always sends company_id, so
		// missing it is treated as the client bug it is.
		return nil, paramNotFound("company_id not specified")
	}
	if id, ok := st.companyByExt[companyID]; ok {
		co := st.companies[id]
		next := co.clone()
		if err := s.applyCompanyFields(&next, f); err != nil {
			return nil, err
		}
		next.UpdatedAt = c.now.Unix()
		*co = next
		return s.renderCompany(co), nil
	}
	co := &Company{CompanyID: companyID, CustomAttributes: map[string]any{}, ContactIDs: []string{}, TagIDs: []string{}}
	if err := s.applyCompanyFields(co, f); err != nil {
		return nil, err
	}
	st.insertCompany(co, c.now)
	return s.renderCompany(co), nil
}

func (st *store) insertCompany(co *Company, now time.Time) {
	if co.ID == "" {
		co.ID = uniqueObjectID(now, func(id string) bool { return st.companies[id] != nil })
	}
	if co.CreatedAt == 0 {
		co.CreatedAt = now.Unix()
	}
	if co.UpdatedAt == 0 {
		co.UpdatedAt = co.CreatedAt
	}
	co.seq = st.nextSeq()
	st.companies[co.ID] = co
	st.companyByExt[co.CompanyID] = co.ID
}

// getCompanies is GET /companies. With company_id or name it returns one
// `company` object (404 if none), as Intercom does and as its SDK override
// of the spec says; otherwise a page-based company_list (companylist.go:
// only companies with users, by last_request_at, at most 10,000),
// optionally filtered by tag_id (segments are not emulated: segment_id
// lists nothing).
func (s *Server) getCompanies(c *call) (any, *apiError) {
	st := s.st
	q := c.r.URL.Query()
	if companyID := q.Get("company_id"); companyID != "" {
		id, ok := st.companyByExt[companyID]
		if !ok {
			return nil, errCompanyNotFound()
		}
		return s.renderCompany(st.companies[id]), nil
	}
	if name := q.Get("name"); name != "" {
		for _, co := range st.sortedCompanies() {
			if co.Name == name {
				return s.renderCompany(co), nil
			}
		}
		return nil, errCompanyNotFound()
	}
	tagID, segmentID := q.Get("tag_id"), q.Get("segment_id")
	page, perPage, err := pageParams(c.r, 15, 60)
	if err != nil {
		return nil, err
	}
	if segmentID != "" {
		return s.companyListPage(nil, 0, page, perPage), nil
	}
	all, total := s.listedCompanies(tagID, false)
	return s.companyListPage(all, total, page, perPage), nil
}

// getCompany is GET /companies/{company_id}; the path takes Intercom's id.
func (s *Server) getCompany(c *call) (any, *apiError) {
	co := s.st.companies[c.r.PathValue("company_id")]
	if co == nil {
		return nil, errCompanyNotFound()
	}
	return s.renderCompany(co), nil
}

// updateCompany is PUT /companies/{company_id} (Intercom id). company_id
// may be repeated but not changed.
func (s *Server) updateCompany(c *call) (any, *apiError) {
	co := s.st.companies[c.r.PathValue("company_id")]
	if co == nil {
		return nil, errCompanyNotFound()
	}
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	if v, ok, err := f.str("company_id"); err != nil {
		return nil, err
	} else if ok && v != co.CompanyID {
		return nil, paramInvalid("company_id cannot be updated")
	}
	next := co.clone()
	if err := s.applyCompanyFields(&next, f); err != nil {
		return nil, err
	}
	next.UpdatedAt = c.now.Unix()
	*co = next
	return s.renderCompany(co), nil
}

// deleteCompany is DELETE /companies/{company_id} (Intercom id). Attached
// contacts are detached, not deleted.
func (s *Server) deleteCompany(c *call) (any, *apiError) {
	st := s.st
	co := st.companies[c.r.PathValue("company_id")]
	if co == nil {
		return nil, errCompanyNotFound()
	}
	for _, id := range co.ContactIDs {
		if ct := st.contacts[id]; ct != nil {
			ct.CompanyIDs = removeString(ct.CompanyIDs, co.ID)
		}
	}
	delete(st.companies, co.ID)
	delete(st.companyByExt, co.CompanyID)
	return obj{"id": co.ID, "object": "company", "deleted": true}, nil
}

// maxCompaniesPerContact is Intercom's limit on attachments per contact.
const maxCompaniesPerContact = 1000

// attachCompany is POST /contacts/{contact_id}/companies {"id": <Intercom
// company id>}. Attaching an already attached company succeeds unchanged.
func (s *Server) attachCompany(c *call) (any, *apiError) {
	st := s.st
	ct, id, err := s.contactAndID(c, "company")
	if err != nil {
		return nil, err
	}
	co := st.companies[id]
	if co == nil {
		return nil, errCompanyNotFound()
	}
	if !slices.Contains(ct.CompanyIDs, co.ID) {
		if len(ct.CompanyIDs) >= maxCompaniesPerContact {
			return nil, &apiError{status: 400, code: "contact_company_limit_exceeded", message: fmt.Sprintf("Contact cannot be attached to more than %d companies", maxCompaniesPerContact)}
		}
		s.touchIndex(ct, c.now)
		ct.CompanyIDs = append(ct.CompanyIDs, co.ID)
		co.ContactIDs = addString(co.ContactIDs, ct.ID)
		ct.UpdatedAt = c.now.Unix()
	}
	return s.renderCompany(co), nil
}

// detachCompany is DELETE /contacts/{contact_id}/companies/{company_id}.
// Unknown contact -> 404 not_found, unknown company -> 404
// company_not_found. A company that exists but is not attached answers 200
// with the company: detaching is then already done, and treating it as
// success keeps retries of a detach idempotent (Intercom documents no error
// for this case).
func (s *Server) detachCompany(c *call) (any, *apiError) {
	st := s.st
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	co := st.companies[c.r.PathValue("company_id")]
	if co == nil {
		return nil, errCompanyNotFound()
	}
	if slices.Contains(ct.CompanyIDs, co.ID) {
		s.touchIndex(ct, c.now)
		ct.CompanyIDs = removeString(ct.CompanyIDs, co.ID)
		co.ContactIDs = removeString(co.ContactIDs, ct.ID)
		ct.UpdatedAt = c.now.Unix()
	}
	return s.renderCompany(co), nil
}
