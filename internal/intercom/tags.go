package intercom

import (
	"context"
	"net/url"
)

// Tag is an Intercom tag.
type Tag struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CreateTag is POST /tags {"name"}: it creates the tag, or returns the
// existing one of that name (names are case-insensitive).
func (c *Client) CreateTag(ctx context.Context, name string) (*Tag, error) {
	var out Tag
	if err := c.do(ctx, "POST", "/tags", "/tags", Fields{"name": name}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TagContact is POST /contacts/{id}/tags {"id": tag id}.
func (c *Client) TagContact(ctx context.Context, contactID, tagID string) error {
	return c.do(ctx, "POST", "/contacts/{id}/tags", "/contacts/"+url.PathEscape(contactID)+"/tags",
		Fields{"id": tagID}, nil)
}

// UntagContact is DELETE /contacts/{id}/tags/{tag_id}.
func (c *Client) UntagContact(ctx context.Context, contactID, tagID string) error {
	return c.do(ctx, "DELETE", "/contacts/{id}/tags/{tag_id}",
		"/contacts/"+url.PathEscape(contactID)+"/tags/"+url.PathEscape(tagID), nil, nil)
}

// ContactTagIDs lists the ids of every tag on a contact (GET
// /contacts/{id}/tags). The 2.11 answer is a tag_list, one unpaged
// {type:"list", data:[tag]}; a contact object embeds only the first few of
// its tags (TagIDsComplete says when those are all).
func (c *Client) ContactTagIDs(ctx context.Context, contactID string) ([]string, error) {
	var out struct {
		Data []Tag `json:"data"`
	}
	if err := c.do(ctx, "GET", "/contacts/{id}/tags", "/contacts/"+url.PathEscape(contactID)+"/tags", nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Data))
	for i, t := range out.Data {
		ids[i] = t.ID
	}
	return ids, nil
}

// ListTags is GET /tags: every tag of the workspace.
func (c *Client) ListTags(ctx context.Context) ([]Tag, error) {
	var out struct {
		Data []Tag `json:"data"`
	}
	if err := c.do(ctx, "GET", "/tags", "/tags", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}
