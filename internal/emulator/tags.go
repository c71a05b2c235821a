package emulator

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// tagByName finds a tag case-insensitively: Intercom treats "VIP" and "vip"
// as the same tag.
func (st *store) tagByName(name string) *Tag {
	for _, t := range st.tags {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	return nil
}

func (st *store) ensureTag(name string) *Tag {
	if t := st.tagByName(name); t != nil {
		return t
	}
	st.nextTag++
	t := &Tag{ID: numericID(st.nextTag), Name: name}
	st.tags[t.ID] = t
	return t
}

// AddTag creates a tag (or returns the existing one with that name).
func (s *Server) AddTag(name string) Tag {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.st.ensureTag(name)
}

// postTags is POST /tags, which Intercom overloads (oneOf in the spec):
//
//	{"name"}                         create, or return the existing tag
//	{"id","name"}                    rename tag id
//	{"name","companies":[{id|company_id[,untag]}]}  tag/untag companies
//	{"name","users":[{"id"}]}        tag contacts
//
// Every target is checked before anything changes, so a 404 leaves no
// partial tagging behind.
func (s *Server) postTags(c *call) (any, *apiError) {
	st := s.st
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	name, _, err := f.str("name")
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, paramInvalid("invalid tag parameters")
	}
	if id, ok, err := f.str("id"); err != nil {
		return nil, err
	} else if ok && !f.has("companies") && !f.has("users") {
		t := st.tags[id]
		if t == nil {
			return nil, errNotFound("Resource Not Found")
		}
		if other := st.tagByName(name); other != nil && other.ID != t.ID {
			return nil, paramInvalid("A tag with that name already exists")
		}
		t.Name = name
		return renderTagBasic(t), nil
	}

	type companyTarget struct {
		co    *Company
		untag bool
	}
	var companies []companyTarget
	if raw, ok := f["companies"]; ok {
		var items []struct {
			ID        string `json:"id"`
			CompanyID string `json:"company_id"`
			Untag     bool   `json:"untag"`
		}
		if e := json.Unmarshal(raw, &items); e != nil {
			return nil, paramInvalid("invalid tag parameters")
		}
		for _, it := range items {
			co := st.companies[it.ID]
			if co == nil && it.CompanyID != "" {
				co = st.companies[st.companyByExt[it.CompanyID]]
			}
			if co == nil {
				return nil, errCompanyNotFound()
			}
			companies = append(companies, companyTarget{co, it.Untag})
		}
	}
	var users []*Contact
	if raw, ok := f["users"]; ok {
		var items []struct {
			ID string `json:"id"`
		}
		if e := json.Unmarshal(raw, &items); e != nil {
			return nil, paramInvalid("invalid tag parameters")
		}
		for _, it := range items {
			ct := s.visibleContact(it.ID)
			if ct == nil {
				return nil, errUserNotFound()
			}
			users = append(users, ct)
		}
	}

	t := st.ensureTag(name)
	for _, target := range companies {
		if target.untag {
			target.co.TagIDs = removeString(target.co.TagIDs, t.ID)
		} else {
			target.co.TagIDs = addString(target.co.TagIDs, t.ID)
		}
	}
	for _, ct := range users {
		s.applyContactTag(ct, t, c.now)
	}
	return renderTagBasic(t), nil
}

// listTags is GET /tags (tag_list). Tags listed on their own are not
// applied to anything, so applied_at/applied_by are null.
func (s *Server) listTags(c *call) (any, *apiError) {
	data := []any{}
	for _, t := range s.st.sortedTags() {
		data = append(data, renderTag(t, 0, ""))
	}
	return obj{"type": "list", "data": data}, nil
}

func (s *Server) applyContactTag(ct *Contact, t *Tag, now time.Time) {
	if slices.Contains(ct.TagIDs, t.ID) {
		return
	}
	s.touchIndex(ct, now)
	ct.TagIDs = append(ct.TagIDs, t.ID)
	ct.tagApplied[t.ID] = now.Unix()
}

// listContactTags is GET /contacts/{contact_id}/tags.
func (s *Server) listContactTags(c *call) (any, *apiError) {
	st := s.st
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	data := []any{}
	for _, id := range ct.TagIDs {
		if t := st.tags[id]; t != nil {
			data = append(data, renderTag(t, ct.tagApplied[id], AdminID))
		}
	}
	return obj{"type": "list", "data": data}, nil
}

// tagContact is POST /contacts/{contact_id}/tags {"id"}. The tag must
// exist; tagging twice is a no-op that returns the tag.
func (s *Server) tagContact(c *call) (any, *apiError) {
	st := s.st
	ct, id, err := s.contactAndID(c, "tag")
	if err != nil {
		return nil, err
	}
	t := st.tags[id]
	if t == nil {
		return nil, errNotFound("Resource Not Found")
	}
	s.applyContactTag(ct, t, c.now)
	return renderTag(t, ct.tagApplied[t.ID], AdminID), nil
}

// untagContact is DELETE /contacts/{contact_id}/tags/{tag_id}. A tag that
// does not exist, or is not on the contact, is 404 not_found "Resource Not
// Found" (the contact-tag 404 of ENDPOINTS.md), mirroring the conversation
// untag which answers tag_not_found in that case.
func (s *Server) untagContact(c *call) (any, *apiError) {
	st := s.st
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, errUserNotFound()
	}
	t := st.tags[c.r.PathValue("tag_id")]
	if t == nil || !slices.Contains(ct.TagIDs, t.ID) {
		return nil, errNotFound("Resource Not Found")
	}
	appliedAt := ct.tagApplied[t.ID]
	s.touchIndex(ct, c.now)
	ct.TagIDs = removeString(ct.TagIDs, t.ID)
	delete(ct.tagApplied, t.ID)
	return renderTag(t, appliedAt, AdminID), nil
}
