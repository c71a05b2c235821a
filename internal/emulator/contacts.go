package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// liveContact returns a contact that exists: not deleted and not merged
// away. It may be archived; API handlers use visibleContact.
func (st *store) liveContact(id string) *Contact {
	c := st.contacts[id]
	if c == nil || c.MergedInto != "" {
		return nil
	}
	return c
}

// visibleContact returns a contact the API may read or write by id: live
// and, unless Loose.ArchivedWritable, not archived.
func (s *Server) visibleContact(id string) *Contact {
	c := s.st.liveContact(id)
	if c == nil || (c.Archived && !s.opts.Loose.ArchivedWritable) {
		return nil
	}
	return c
}

// findConflict applies Intercom's uniqueness rules for a contact about to
// have role, externalID and email:
//   - external_id identifies a user and is unique among all live contacts;
//   - a user's email is unique among users (compared case-insensitively),
//     unless Loose.UsersShareEmail: then two users that both have an
//     external_id, different ones, may share an email, while an email
//     matching a user without an external_id (or a new user without one
//     matching any user) is still a conflict;
//   - leads may share an email with each other and with a user.
//
// A non-archived match wins over an archived one because Intercom reports
// the live duplicate; among equals the oldest contact is reported.
func (s *Server) findConflict(role, externalID, email, exclude string) *Contact {
	var archived *Contact
	for _, c := range s.st.sortedContacts() {
		if c.ID == exclude || c.MergedInto != "" {
			continue
		}
		match := externalID != "" && c.ExternalID == externalID
		if !match && role == "user" && email != "" && c.Role == "user" && strings.EqualFold(c.Email, email) {
			match = !s.opts.Loose.UsersShareEmail || externalID == "" || c.ExternalID == ""
		}
		if !match {
			continue
		}
		if !c.Archived {
			return c
		}
		if archived == nil {
			archived = c
		}
	}
	return archived
}

func conflictError(c *Contact) *apiError {
	if c.Archived {
		return conflict("An archived contact matching those details already exists with id=" + c.ID)
	}
	return conflict("A contact matching those details already exists with id=" + c.ID)
}

// contactFields are the fields of create_contact_request and
// update_contact_request, role first: whether external_id is kept depends
// on the role after the update.
var contactFields = []requestField[Contact]{
	stringField("role", func(_ *Server, c *Contact, v string) *apiError {
		if v != "user" && v != "lead" {
			return &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "Role must be one of user, lead", field: "role"}
		}
		c.Role = v
		return nil
	}),
	stringField("external_id", func(s *Server, c *Contact, v string) *apiError {
		// Intercom does not take an external_id for a lead.
		if c.Role != "lead" || s.opts.Loose.LeadsKeepExternalID {
			c.ExternalID = v
		}
		return nil
	}),
	stringField("email", func(_ *Server, c *Contact, v string) *apiError {
		v = strings.TrimSpace(v)
		if v != "" && !strings.Contains(v, "@") {
			return &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "Email address is invalid", field: "email"}
		}
		c.Email = v
		return nil
	}),
	stringField("phone", set(func(c *Contact, v string) { c.Phone = v })),
	stringField("name", set(func(c *Contact, v string) { c.Name = v })),
	stringField("avatar", set(func(c *Contact, v string) { c.Avatar = v })),
	integerField("signed_up_at", set(func(c *Contact, v int64) { c.SignedUpAt = v })),
	integerField("last_seen_at", set(func(c *Contact, v int64) { c.LastSeenAt = v })),
	integerField("owner_id", func(_ *Server, c *Contact, v int64) *apiError {
		// Intercom only accepts workspace admins as owners.
		if v != 0 && strconv.FormatInt(v, 10) != AdminID {
			return &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "The owner specified is not a member of the workspace", field: "owner_id"}
		}
		c.OwnerID = v
		return nil
	}),
	booleanField("unsubscribed_from_emails", set(func(c *Contact, v bool) { c.UnsubscribedFromEmails = v })),
	customAttributesField("contact", func(c *Contact) *map[string]any { return &c.CustomAttributes }),
}

// applyContactFields writes the fields present in f onto c. Absent fields
// are left alone (partial update); null clears a nullable field. Unknown
// top-level keys are ignored: unlike POST /companies ("bad 'x' parameter"),
// Intercom is not known to reject them on contacts.
func (s *Server) applyContactFields(c *Contact, f fields) *apiError {
	return applyFields(s, f, c, contactFields)
}

// mergeAttrs merges key by key, as Intercom does: keys not sent keep their
// value and a null value removes the key.
func mergeAttrs(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// checkIdentity enforces that a user is identifiable and unique. With
// sharedEmail only the external_id must be unique: AddDuplicateUser seeds
// users that share an email, as real workspaces hold them.
func (s *Server) checkIdentity(c *Contact, sharedEmail bool) *apiError {
	if c.Role == "user" && c.ExternalID == "" && c.Email == "" {
		return &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "A user must have an email or an external_id"}
	}
	email := c.Email
	if sharedEmail {
		email = ""
	}
	if dup := s.findConflict(c.Role, c.ExternalID, email, c.ID); dup != nil {
		return conflictError(dup)
	}
	return nil
}

// createContact is POST /contacts.
func (s *Server) createContact(c *call) (any, *apiError) {
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	if !f.has("role") && !f.has("email") && !f.has("external_id") {
		return nil, &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "Please provide at least one of role, email or external_id"}
	}
	ct := &Contact{Role: "user", CustomAttributes: map[string]any{}, TagIDs: []string{}, CompanyIDs: []string{}}
	if err := s.applyContactFields(ct, f); err != nil {
		return nil, err
	}
	out, err := s.insertContact(ct, c.now, false)
	if err != nil {
		return nil, err
	}
	return s.renderContact(out), nil
}

// insertContact checks identity rules, assigns id and timestamps and
// stores ct.
func (s *Server) insertContact(ct *Contact, now time.Time, sharedEmail bool) (*Contact, *apiError) {
	st := s.st
	if err := s.checkIdentity(ct, sharedEmail); err != nil {
		return nil, err
	}
	if ct.ID == "" {
		ct.ID = uniqueObjectID(now, func(id string) bool { return st.contacts[id] != nil })
	} else if st.contacts[ct.ID] != nil {
		return nil, conflictError(st.contacts[ct.ID])
	}
	if ct.CreatedAt == 0 {
		ct.CreatedAt = now.Unix()
	}
	if ct.UpdatedAt == 0 {
		ct.UpdatedAt = ct.CreatedAt
	}
	ct.seq = st.nextSeq()
	ct.created = now
	if ct.tagApplied == nil {
		ct.tagApplied = map[string]int64{}
	}
	st.contacts[ct.ID] = ct
	st.contactOrder = append(st.contactOrder, ct)
	return ct, nil
}

// getContact is GET /contacts/{contact_id}. Merged-away contacts are 404,
// as the spec's description says, and so are archived ones (visibleContact).
func (s *Server) getContact(c *call) (any, *apiError) {
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	return s.renderContact(ct), nil
}

// updateContact is PUT /contacts/{contact_id}: a partial update. The change
// is applied to a copy first so a rejected update (400/409) leaves the
// contact untouched.
func (s *Server) updateContact(c *call) (any, *apiError) {
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	next := ct.clone()
	if err := s.applyContactFields(&next, f); err != nil {
		return nil, err
	}
	// Intercom converts leads to users (by update or merge), never back.
	if ct.Role == "user" && next.Role == "lead" && !s.opts.Loose.UsersBecomeLeads {
		return nil, &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "A user cannot be converted to a lead", field: "role"}
	}
	// Only a change of identity can collide: an update that keeps role,
	// external_id and email is applied even when the contact shares its
	// email with another user, so duplicates that exist stay updatable.
	if next.Role != ct.Role || next.ExternalID != ct.ExternalID || !strings.EqualFold(next.Email, ct.Email) {
		if err := s.checkIdentity(&next, false); err != nil {
			return nil, err
		}
	}
	next.UpdatedAt = c.now.Unix()
	s.touchIndex(ct, c.now)
	next.written, next.indexed = ct.written, ct.indexed
	*ct = next
	return s.renderContact(ct), nil
}

// deleteContact is DELETE /contacts/{contact_id}. The contact disappears and
// is detached from its companies; conversations keep their reference, as
// Intercom keeps conversation history.
func (s *Server) deleteContact(c *call) (any, *apiError) {
	st := s.st
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	for _, id := range ct.CompanyIDs {
		if co := st.companies[id]; co != nil {
			co.ContactIDs = removeString(co.ContactIDs, ct.ID)
		}
	}
	st.removeContact(ct.ID)
	return obj{"type": "contact", "id": ct.ID, "external_id": nullStr(ct.ExternalID), "deleted": true}, nil
}

func (s *Server) archiveContact(c *call) (any, *apiError) {
	return s.setArchived(c, true)
}

func (s *Server) unarchiveContact(c *call) (any, *apiError) {
	return s.setArchived(c, false)
}

// setArchived serves archive and unarchive. Archived contacts keep their
// data and still block duplicates (with the "archived" 409 message), but
// are left out of search and list and, unless Loose.ArchivedWritable, are
// 404 to every call by id except unarchive (archiving one again included).
func (s *Server) setArchived(c *call, archived bool) (any, *apiError) {
	id := c.r.PathValue("contact_id")
	ct := s.visibleContact(id)
	if !archived {
		ct = s.st.liveContact(id)
	}
	if ct == nil {
		return nil, errUserNotFound()
	}
	if !archived && ct.Archived {
		// Unarchiving must not create a second live contact with the same
		// identity.
		if dup := s.findConflict(ct.Role, ct.ExternalID, ct.Email, ct.ID); dup != nil && !dup.Archived {
			return nil, conflictError(dup)
		}
	}
	if ct.Archived != archived {
		ct.Archived = archived
		ct.UpdatedAt = c.now.Unix()
	}
	return obj{"type": "contact", "id": ct.ID, "external_id": nullStr(ct.ExternalID), "archived": archived}, nil
}

// mergeContacts is POST /contacts/merge {from: lead, into: user}. The user
// gains the lead's companies, tags and the attributes it lacks; the lead
// becomes invisible (404 on GET, gone from search and list) and its
// conversations now belong to the user.
func (s *Server) mergeContacts(c *call) (any, *apiError) {
	st := s.st
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	fromID, _, err := f.str("from")
	if err != nil {
		return nil, err
	}
	intoID, _, err := f.str("into")
	if err != nil {
		return nil, err
	}
	if fromID == "" || intoID == "" {
		return nil, paramNotFound("from and into must both be specified")
	}
	from, into := s.visibleContact(fromID), s.visibleContact(intoID)
	if from == nil || into == nil {
		return nil, errUserNotFound()
	}
	if from.ID == into.ID {
		return nil, paramInvalid("A contact cannot be merged into itself")
	}
	if from.Role != "lead" {
		return nil, &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "The contact to merge from must be a lead", field: "from"}
	}
	if into.Role != "user" {
		return nil, &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: "The contact to merge into must be a user", field: "into"}
	}

	s.touchIndex(into, c.now)
	for _, id := range from.CompanyIDs {
		co := st.companies[id]
		if co == nil {
			continue
		}
		co.ContactIDs = addString(removeString(co.ContactIDs, from.ID), into.ID)
		into.CompanyIDs = addString(into.CompanyIDs, id)
	}
	for _, id := range from.TagIDs {
		if !slices.Contains(into.TagIDs, id) {
			into.TagIDs = append(into.TagIDs, id)
			into.tagApplied[id] = from.tagApplied[id]
		}
	}
	for k, v := range from.CustomAttributes {
		if _, ok := into.CustomAttributes[k]; !ok {
			into.CustomAttributes[k] = v
		}
	}
	if into.Email == "" {
		into.Email = from.Email
	}
	if into.Name == "" {
		into.Name = from.Name
	}
	if into.Phone == "" {
		into.Phone = from.Phone
	}
	for _, conv := range st.conversations {
		for i, ref := range conv.Contacts {
			if ref.ID == from.ID {
				conv.Contacts[i] = ContactRef{ID: into.ID, ExternalID: into.ExternalID}
			}
		}
	}
	from.CompanyIDs = []string{}
	from.TagIDs = []string{}
	from.MergedInto = into.ID
	from.UpdatedAt = c.now.Unix()
	into.UpdatedAt = c.now.Unix()
	return s.renderContact(into), nil
}

// listContacts is GET /contacts, cursor-paginated like search.
func (s *Server) listContacts(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	perPage, err := queryInt(q.Get("per_page"), "per_page")
	if err != nil {
		return nil, err
	}
	var all []*Contact
	for _, ct := range s.st.sortedContacts() {
		if ct.MergedInto == "" && !ct.Archived {
			all = append(all, ct)
		}
	}
	return s.contactPage(all, int(perPage), q.Get("starting_after"))
}

// listContactCompanies is GET /contacts/{contact_id}/companies
// (contact_attached_companies, page based).
func (s *Server) listContactCompanies(c *call) (any, *apiError) {
	st := s.st
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	var all []*Company
	for _, id := range ct.CompanyIDs {
		if co := st.companies[id]; co != nil {
			all = append(all, co)
		}
	}
	data, pages, err := pageOf(c.r, all, 50, s.renderCompany)
	if err != nil {
		return nil, err
	}
	pages["next"] = nil
	return obj{"type": "list", "companies": data, "total_count": len(all), "pages": pages}, nil
}

func queryInt(v, name string) (int64, *apiError) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, paramInvalid(fmt.Sprintf("%s must be an integer", name))
	}
	return n, nil
}

// pageParams reads page/per_page for Intercom's page-based lists.
func pageParams(r *http.Request, defPerPage, maxPerPage int64) (page, perPage int64, err *apiError) {
	q := r.URL.Query()
	if page, err = queryInt(q.Get("page"), "page"); err != nil {
		return
	}
	if perPage, err = queryInt(q.Get("per_page"), "per_page"); err != nil {
		return
	}
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = defPerPage
	}
	perPage = min(perPage, maxPerPage)
	return page, perPage, nil
}

// pageBounds returns the slice bounds of a 1-based page.
func pageBounds(total int, page, perPage int64) (start, end int, totalPages int64) {
	totalPages = (int64(total) + perPage - 1) / perPage
	s := (page - 1) * perPage
	if s > int64(total) {
		s = int64(total)
	}
	e := min(s+perPage, int64(total))
	return int(s), int(e), totalPages
}
