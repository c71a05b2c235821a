package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Conversations cannot be created through the emulated API (the sync only
// reads and annotates them); tests seed them with SeedConversation or
// POST /_emulator/conversations.

func errConversationNotFound() *apiError { return errNotFound("Conversation not found") }

// SeedConversation stores conversations as if customers had started them.
// Empty fields get defaults: a numeric id, state "open", priority
// "not_priority", timestamps from Options.Now, a source authored by the
// first contact. Contacts and tags referenced must exist. It returns the
// stored conversations; on error nothing is stored.
func (s *Server) SeedConversation(convs ...Conversation) ([]Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seedConversationsLocked(convs)
}

func (s *Server) seedConversationsLocked(convs []Conversation) ([]Conversation, error) {
	st := s.st
	now := s.now()
	prepared := make([]*Conversation, 0, len(convs))
	seen := map[string]bool{}
	for i := range convs {
		cv := convs[i].clone()
		if err := st.prepareConversation(&cv, now); err != nil {
			return nil, fmt.Errorf("conversation %d: %w", i, err)
		}
		if st.conversations[cv.ID] != nil || seen[cv.ID] {
			return nil, fmt.Errorf("conversation %d: id %s already exists", i, cv.ID)
		}
		seen[cv.ID] = true
		prepared = append(prepared, &cv)
	}
	out := make([]Conversation, 0, len(prepared))
	for _, cv := range prepared {
		cv.seq = st.nextSeq()
		st.conversations[cv.ID] = cv
		out = append(out, cv.clone())
	}
	return out, nil
}

// prepareConversation validates references and fills defaults.
func (st *store) prepareConversation(cv *Conversation, now time.Time) error {
	if cv.ID == "" {
		for {
			st.nextConv++
			cv.ID = numericID(st.nextConv)
			if st.conversations[cv.ID] == nil {
				break
			}
		}
	}
	switch cv.State {
	case "":
		cv.State = "open"
	case "open", "closed", "snoozed":
	default:
		return fmt.Errorf("state %q is not open, closed or snoozed", cv.State)
	}
	switch cv.Priority {
	case "":
		cv.Priority = "not_priority"
	case "priority", "not_priority":
	default:
		return fmt.Errorf("priority %q is not priority or not_priority", cv.Priority)
	}
	if cv.CreatedAt == 0 {
		cv.CreatedAt = now.Unix()
	}
	if cv.UpdatedAt == 0 {
		cv.UpdatedAt = cv.CreatedAt
	}
	for i, ref := range cv.Contacts {
		ct := st.liveContact(ref.ID)
		if ct == nil {
			return fmt.Errorf("contact %q does not exist", ref.ID)
		}
		cv.Contacts[i].ExternalID = ct.ExternalID
	}
	cv.tagApplied = map[string]tagApplication{}
	for _, id := range cv.TagIDs {
		if st.tags[id] == nil {
			return fmt.Errorf("tag %q does not exist", id)
		}
		cv.tagApplied[id] = tagApplication{at: cv.CreatedAt, adminID: AdminID}
	}
	src := &cv.Source
	if src.Type == "" {
		src.Type = "conversation"
	}
	if src.ID == "" {
		st.nextPart++
		src.ID = numericID(st.nextPart)
	}
	if src.DeliveredAs == "" {
		src.DeliveredAs = "customer_initiated"
	}
	if src.Author.Type == "" {
		if len(cv.Contacts) > 0 {
			ct := st.contacts[cv.Contacts[0].ID]
			src.Author = Author{Type: ct.Role, ID: ct.ID, Name: ct.Name, Email: ct.Email}
		} else {
			src.Author = Author{Type: "admin", ID: AdminID, Name: AdminName, Email: AdminEmail}
		}
	}
	for i := range cv.Parts {
		p := &cv.Parts[i]
		if p.ID == "" {
			st.nextPart++
			p.ID = numericID(st.nextPart)
		}
		if p.PartType == "" {
			p.PartType = "comment"
		}
		if p.CreatedAt == 0 {
			p.CreatedAt = cv.CreatedAt
		}
		if p.UpdatedAt == 0 {
			p.UpdatedAt = p.CreatedAt
		}
		if p.Author.Type == "" {
			p.Author = src.Author
		}
	}
	return nil
}

// getConversation is GET /conversations/{conversation_id}.
func (s *Server) getConversation(c *call) (any, *apiError) {
	cv := s.st.conversations[c.r.PathValue("conversation_id")]
	if cv == nil {
		return nil, errNotFound("Resource Not Found")
	}
	return s.renderConversation(cv), nil
}

// updateConversation is PUT /conversations/{conversation_id} with
// update_conversation_request {read?, custom_attributes?}. Custom
// attributes are merged key by key; null clears one. Unlike contacts and
// companies, conversation attribute names are not checked against data
// attributes, because 2.11 offers no API to define conversation attributes
// (they are created in the Intercom UI).
func (s *Server) updateConversation(c *call) (any, *apiError) {
	cv := s.st.conversations[c.r.PathValue("conversation_id")]
	if cv == nil {
		return nil, errNotFound("Resource Not Found")
	}
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	read, readSet, err := f.boolean("read")
	if err != nil {
		return nil, err
	}
	attrs, attrsSet, err := f.attrs("custom_attributes")
	if err != nil {
		return nil, err
	}
	if readSet {
		cv.Read = read
	}
	if attrsSet {
		cv.CustomAttributes = mergeAttrs(cv.CustomAttributes, attrs)
	}
	cv.UpdatedAt = c.now.Unix()
	return s.renderConversation(cv), nil
}

// adminParam reads the admin_id the conversation tag endpoints require: the
// teammate on whose behalf the tag is changed. Only the token's admin (see
// GET /me) exists in the emulated workspace.
func adminParam(f fields) *apiError {
	adminID, _, err := f.str("admin_id")
	if err != nil {
		return err
	}
	if adminID == "" {
		return &apiError{status: http.StatusBadRequest, code: "parameter_not_found", message: "admin_id not specified", field: "admin_id"}
	}
	if adminID != AdminID {
		// The spec lists no admin_not_found: an unknown admin is the
		// same 404 not_found as a missing tag.
		return errNotFound("Resource Not Found")
	}
	return nil
}

// tagConversation is POST /conversations/{conversation_id}/tags
// {"id","admin_id"}.
func (s *Server) tagConversation(c *call) (any, *apiError) {
	st := s.st
	cv := st.conversations[c.r.PathValue("conversation_id")]
	if cv == nil {
		return nil, errConversationNotFound()
	}
	f, id, err := idBody(c.body)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, &apiError{status: http.StatusBadRequest, code: "parameter_not_found", message: "tag not specified", field: "id"}
	}
	if err := adminParam(f); err != nil {
		return nil, err
	}
	t := st.tags[id]
	if t == nil {
		return nil, &apiError{status: http.StatusNotFound, code: "tag_not_found", message: "Tag not found"}
	}
	if !slices.Contains(cv.TagIDs, t.ID) {
		cv.TagIDs = append(cv.TagIDs, t.ID)
		cv.tagApplied[t.ID] = tagApplication{at: c.now.Unix(), adminID: AdminID}
		cv.UpdatedAt = c.now.Unix()
	}
	app := cv.tagApplied[t.ID]
	return renderTag(t, app.at, app.adminID), nil
}

// untagConversation is DELETE /conversations/{conversation_id}/tags/{tag_id}.
// Unusually for a DELETE, Intercom requires a JSON body {"admin_id"}; a
// missing admin_id is a 400. A tag that is not on the conversation is 404
// tag_not_found "Tag not found".
func (s *Server) untagConversation(c *call) (any, *apiError) {
	st := s.st
	cv := st.conversations[c.r.PathValue("conversation_id")]
	if cv == nil {
		return nil, errConversationNotFound()
	}
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	if err := adminParam(f); err != nil {
		return nil, err
	}
	t := st.tags[c.r.PathValue("tag_id")]
	if t == nil || !slices.Contains(cv.TagIDs, t.ID) {
		return nil, &apiError{status: http.StatusNotFound, code: "tag_not_found", message: "Tag not found"}
	}
	app := cv.tagApplied[t.ID]
	cv.TagIDs = removeString(cv.TagIDs, t.ID)
	delete(cv.tagApplied, t.ID)
	cv.UpdatedAt = c.now.Unix()
	return renderTag(t, app.at, app.adminID), nil
}
