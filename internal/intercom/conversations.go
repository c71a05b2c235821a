package intercom

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Conversation is the part of Intercom's conversation object the tag-based
// re-sync reads.
type Conversation struct {
	ID               ID         `json:"id"`
	CustomAttributes Attributes `json:"custom_attributes"`
	Tags             struct {
		Tags []TagRef `json:"tags"`
	} `json:"tags"`
	// Contacts are the conversation's contacts (its owners: archiving one
	// hides the conversation from the inbox).
	Contacts struct {
		Contacts []Ref `json:"contacts"`
	} `json:"contacts"`
}

// TagRef is a tag as conversations and notifications list it; ids may come
// as numbers in older payloads.
type TagRef struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
}

// Attributes are custom attributes with each value kept raw, so a number
// keeps its digits: a member number typed into a numeric attribute must
// not come back as 1.234567e+06, as it would through float64.
type Attributes map[string]json.RawMessage

// String returns the attribute as trimmed text: a JSON string, or a
// number's literal digits. Absent, null, booleans and objects are "".
func (a Attributes) String(name string) string {
	raw := bytes.TrimSpace(a[name])
	if len(raw) == 0 {
		return ""
	}
	switch {
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
			return ""
		}
		return string(raw)
	}
	return ""
}

// GetConversation is GET /conversations/{id}.
func (c *Client) GetConversation(ctx context.Context, id string) (*Conversation, error) {
	var out Conversation
	if err := c.do(ctx, "GET", "/conversations/{id}", "/conversations/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UntagConversation is DELETE /conversations/{id}/tags/{tag_id}. Unusually
// for a DELETE it carries a body: Intercom requires the admin on whose
// behalf the tag is removed. Its 404 not_found is ambiguous (tag already
// removed, or admin unknown): see ConversationHasTag.
func (c *Client) UntagConversation(ctx context.Context, conversationID, tagID, adminID string) error {
	return c.do(ctx, "DELETE", "/conversations/{id}/tags/{tag_id}",
		"/conversations/"+url.PathEscape(conversationID)+"/tags/"+url.PathEscape(tagID),
		Fields{"admin_id": adminID}, nil)
}

// ConversationHasTag reports whether the conversation carries the tag now
// (GET /conversations/{id}, tags.tags[].id). Use it to read a 404 from
// UntagConversation: Intercom answers 404 not_found both when the tag is
// no longer on the conversation and when the admin is unknown, so a 404 on
// untag means done only if the conversation no longer carries the tag. A
// conversation that is itself not found comes back as that 404 error.
func (c *Client) ConversationHasTag(ctx context.Context, conversationID, tagID string) (bool, error) {
	conv, err := c.GetConversation(ctx, conversationID)
	if err != nil {
		return false, err
	}
	for _, t := range conv.Tags.Tags {
		if string(t.ID) == tagID {
			return true, nil
		}
	}
	return false, nil
}

// Admin is the part of an Intercom admin (teammate) the sync reads.
type Admin struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
}

// Me is GET /me: the admin the access token belongs to.
func (c *Client) Me(ctx context.Context) (*Admin, error) {
	var out Admin
	if err := c.do(ctx, "GET", "/me", "/me", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UnarchiveContact is POST /contacts/{id}/unarchive.
func (c *Client) UnarchiveContact(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/contacts/{id}/unarchive", "/contacts/"+url.PathEscape(id)+"/unarchive", nil, nil)
}

// ArchivedConflict reports whether err is the 409 Intercom gives when the
// matching contact is archived ("An archived contact matching those
// details already exists with id=…"): that contact must be unarchived
// before it can be used.
func ArchivedConflict(err error) bool {
	_, conflict := ConflictID(err)
	return conflict && strings.Contains(strings.ToLower(err.Error()), "archived contact")
}

// MemberNumberAttributes are the conversation attributes agents fill with
// the member number, in order of preference: the label as created in
// Intercom's UI, and the snake_case name the integration this service replaced read.
var MemberNumberAttributes = []string{"Member Number Verification", "member_number_verification"}

// ConversationMemberNumber reads the member number from a conversation's
// custom attributes as the agent typed it; "" when none is filled in
// (absent, null or blank). It is not cleaned up: a string keeps its
// spaces, a number attribute comes as its JSON literal (1e5), a boolean or
// an object as its JSON. The caller validates it (members.ValidNumber), so
// what is not plainly a member number is refused, not guessed at.
func ConversationMemberNumber(attrs Attributes) string {
	for _, name := range MemberNumberAttributes {
		raw := bytes.TrimSpace(attrs[name])
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		if raw[0] != '"' {
			return string(raw)
		}
		var s string
		if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
			continue
		}
		return s
	}
	return ""
}
