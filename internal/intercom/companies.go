package intercom

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
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
