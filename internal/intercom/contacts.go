package intercom

import (
	"context"
	"net/url"
)

// Ref is an item of a reference list (a contact's companies or tags).
type Ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// RefList is Intercom's {type:"list", data:[…], total_count, has_more}
// reference list. A contact embeds only the first few of its companies
// and tags ("Up to 10 will be displayed here. Use the url to get more.").
type RefList struct {
	Data       []Ref `json:"data"`
	TotalCount int   `json:"total_count"`
	HasMore    bool  `json:"has_more"`
}

// Complete reports whether the list holds every item: Intercom says there
// are no more, and its total is no larger than what came embedded.
func (l RefList) Complete() bool {
	return !l.HasMore && l.TotalCount <= len(l.Data)
}

// Contact is the part of Intercom's contact object the sync reads.
type Contact struct {
	ID               string         `json:"id"`
	Role             string         `json:"role"`
	ExternalID       *string        `json:"external_id"`
	Email            *string        `json:"email"`
	Name             *string        `json:"name"`
	Phone            *string        `json:"phone"`
	SignedUpAt       *int64         `json:"signed_up_at"`
	LastSeenAt       *int64         `json:"last_seen_at"`
	CreatedAt        int64          `json:"created_at"`
	UpdatedAt        int64          `json:"updated_at"`
	CustomAttributes map[string]any `json:"custom_attributes"`
	Companies        RefList        `json:"companies"`
	Tags             RefList        `json:"tags"`
}

// CompanyIDsComplete reports whether c.Companies is the contact's whole
// company list; if not, ContactCompanyIDs reads it in full.
func (c *Contact) CompanyIDsComplete() bool { return c.Companies.Complete() }

// TagIDsComplete reports whether c.Tags is the contact's whole tag list; if
// not, ContactTagIDs reads it in full.
func (c *Contact) TagIDsComplete() bool { return c.Tags.Complete() }

// ContactList is a page of search or list results.
type ContactList struct {
	Data       []Contact `json:"data"`
	TotalCount int       `json:"total_count"`
	Pages      struct {
		Next *struct {
			StartingAfter string `json:"starting_after"`
		} `json:"next"`
	} `json:"pages"`
}

// CreateContact is POST /contacts. A 409 (the contact exists) comes back as
// an *Error whose ExistingID names it.
func (c *Client) CreateContact(ctx context.Context, f Fields) (*Contact, error) {
	var out Contact
	if err := c.do(ctx, "POST", "/contacts", "/contacts", f, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateContact is PUT /contacts/{id}: only the given fields change.
func (c *Client) UpdateContact(ctx context.Context, id string, f Fields) (*Contact, error) {
	var out Contact
	if err := c.do(ctx, "PUT", "/contacts/{id}", "/contacts/"+url.PathEscape(id), f, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetContact is GET /contacts/{id}.
func (c *Client) GetContact(ctx context.Context, id string) (*Contact, error) {
	var out Contact
	if err := c.do(ctx, "GET", "/contacts/{id}", "/contacts/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteContact is DELETE /contacts/{id}.
func (c *Client) DeleteContact(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/contacts/{id}", "/contacts/"+url.PathEscape(id), nil, nil)
}

// ArchiveContact is POST /contacts/{id}/archive.
func (c *Client) ArchiveContact(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/contacts/{id}/archive", "/contacts/"+url.PathEscape(id)+"/archive", nil, nil)
}

// MergeContacts is POST /contacts/merge: the lead `from` is merged into the
// user `into`, which is returned.
func (c *Client) MergeContacts(ctx context.Context, from, into string) (*Contact, error) {
	var out Contact
	if err := c.do(ctx, "POST", "/contacts/merge", "/contacts/merge", Fields{"from": from, "into": into}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Filter is one search condition, or a group of them (Operator AND/OR
// with Value a []Filter).
type Filter struct {
	Field    string `json:"field,omitempty"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// SearchContacts is POST /contacts/search, one page.
func (c *Client) SearchContacts(ctx context.Context, q Filter, perPage int, startingAfter string) (*ContactList, error) {
	pagination := Fields{"per_page": perPage}
	if startingAfter != "" {
		pagination["starting_after"] = startingAfter
	}
	var out ContactList
	if err := c.do(ctx, "POST", "/contacts/search", "/contacts/search",
		Fields{"query": q, "pagination": pagination}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindContactByExternalID returns the contact with that external_id, or nil.
// Search is eventually consistent: a contact created seconds ago may be
// missing, so creators must still handle a 409.
func (c *Client) FindContactByExternalID(ctx context.Context, externalID string) (*Contact, error) {
	list, err := c.SearchContacts(ctx, Filter{Field: "external_id", Operator: "=", Value: externalID}, 5, "")
	if err != nil {
		return nil, err
	}
	for i := range list.Data {
		if ext := list.Data[i].ExternalID; ext != nil && *ext == externalID {
			return &list.Data[i], nil
		}
	}
	return nil, nil
}

// AttachCompany is POST /contacts/{id}/companies with Intercom's company id.
func (c *Client) AttachCompany(ctx context.Context, contactID, companyID string) error {
	return c.do(ctx, "POST", "/contacts/{id}/companies", "/contacts/"+url.PathEscape(contactID)+"/companies",
		Fields{"id": companyID}, nil)
}

// DetachCompany is DELETE /contacts/{id}/companies/{company_id} with
// Intercom's company id.
func (c *Client) DetachCompany(ctx context.Context, contactID, companyID string) error {
	return c.do(ctx, "DELETE", "/contacts/{id}/companies/{company_id}",
		"/contacts/"+url.PathEscape(contactID)+"/companies/"+url.PathEscape(companyID), nil, nil)
}
