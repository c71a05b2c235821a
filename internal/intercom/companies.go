package intercom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Company is the part of Intercom's company object the sync reads.
type Company struct {
	ID               string         `json:"id"`
	CompanyID        string         `json:"company_id"`
	Name             string         `json:"name"`
	UserCount        int            `json:"user_count"`
	RemoteCreatedAt  int64          `json:"remote_created_at,omitempty"`
	CustomAttributes map[string]any `json:"custom_attributes"`
}

// UpsertCompany is POST /companies: create, or update the company with the
// same company_id.
func (c *Client) UpsertCompany(ctx context.Context, f Fields) (*Company, error) {
	var out Company
	if err := c.do(ctx, "POST", "/companies", "/companies", f, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCompanyByCompanyID is GET /companies?company_id=…; nil if none. The
// 2.11 description says a list comes back, Intercom's SDKs expect a single
// company: accept both.
func (c *Client) GetCompanyByCompanyID(ctx context.Context, companyID string) (*Company, error) {
	var raw json.RawMessage
	err := c.do(ctx, "GET", "/companies", "/companies?company_id="+url.QueryEscape(companyID), nil, &raw)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var probe struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &probe)
	if probe.Type == "list" {
		var list struct {
			Data []Company `json:"data"`
		}
		if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&list); err != nil {
			return nil, err
		}
		for i := range list.Data {
			if list.Data[i].CompanyID == companyID {
				return &list.Data[i], nil
			}
		}
		return nil, nil
	}
	var co Company
	if err := json.Unmarshal(raw, &co); err != nil {
		return nil, err
	}
	return &co, nil
}

// DeleteCompany is DELETE /companies/{id} with Intercom's id.
func (c *Client) DeleteCompany(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/companies/{id}", "/companies/"+url.PathEscape(id), nil, nil)
}

// CompanyScroll is one page of GET /companies/scroll.
type CompanyScroll struct {
	Data       []Company `json:"data"`
	TotalCount *int      `json:"total_count"` // nullable in 2.11
	// ScrollParam fetches the next page. It expires after a minute unused.
	ScrollParam string `json:"scroll_param"`
}

// Done reports whether the scroll has reached its end: the spec's "if the
// end of the scroll is reached, companies will be empty" (the list is
// named data in the response schema).
func (s *CompanyScroll) Done() bool { return len(s.Data) == 0 }

// ScrollCompanies is GET /companies/scroll: with scrollParam "" it opens a
// scroll and returns its first page; pass the page's ScrollParam for the
// next one, until a page comes back empty (Done). A workspace may have only
// one scroll open at a time (ScrollBusy); an unused scroll expires after a
// minute, and a 500 mid-scroll means the scroll must be started again.
func (c *Client) ScrollCompanies(ctx context.Context, scrollParam string) (*CompanyScroll, error) {
	path := "/companies/scroll"
	if scrollParam != "" {
		path += "?" + url.Values{"scroll_param": {scrollParam}}.Encode()
	}
	var out CompanyScroll
	if err := c.do(ctx, "GET", "/companies/scroll", path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ScrollBusy reports whether err is Intercom refusing to open a scroll
// because another is open in the workspace. The 2.11 spec documents only
// "Each app can only have 1 scroll open at a time. You'll get an error
// message if you try to have more than one open per app", without its
// status or code; Intercom answers 400 with code "scroll_exists" and the
// message "scroll already exists for this app", so either is matched. The
// open scroll expires a minute after its last use: wait, then start again.
func ScrollBusy(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.StatusCode < 400 || e.StatusCode >= 500 {
		return false
	}
	return e.Code == "scroll_exists" ||
		strings.Contains(strings.ToLower(e.Message), "scroll already exists")
}
