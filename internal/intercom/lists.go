package intercom

import (
	"context"
	"fmt"
	"net/url"
)

// MaxSearchPerPage is the largest page POST /contacts/search returns.
const MaxSearchPerPage = 150

// MaxCompaniesPerPage is the largest page GET /companies returns.
const MaxCompaniesPerPage = 60

// ContactsByExternalIDs returns the contacts whose external_id is one of
// ids, in one search call per 150 ids (external_id is unique, so a chunk's
// matches always fit one page). Search is eventually consistent: a contact
// created moments ago may be missing.
func (c *Client) ContactsByExternalIDs(ctx context.Context, ids []string) ([]Contact, error) {
	var out []Contact
	for start := 0; start < len(ids); start += MaxSearchPerPage {
		chunk := ids[start:min(start+MaxSearchPerPage, len(ids))]
		values := make([]any, len(chunk))
		for i, id := range chunk {
			values[i] = id
		}
		cursor := ""
		for {
			page, err := c.SearchContacts(ctx, Filter{Field: "external_id", Operator: "IN", Value: values}, MaxSearchPerPage, cursor)
			if err != nil {
				return nil, err
			}
			out = append(out, page.Data...)
			if page.Pages.Next == nil || page.Pages.Next.StartingAfter == "" || len(page.Data) == 0 {
				break
			}
			cursor = page.Pages.Next.StartingAfter
		}
	}
	return out, nil
}

// CompanyList is one page of GET /companies.
type CompanyList struct {
	Data       []Company `json:"data"`
	TotalCount int       `json:"total_count"`
	Pages      struct {
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		TotalPages int `json:"total_pages"`
	} `json:"pages"`
}

// ListCompanies is GET /companies?page=&per_page= (pages from 1; at most
// 60 per page).
func (c *Client) ListCompanies(ctx context.Context, page, perPage int) (*CompanyList, error) {
	q := url.Values{"page": {fmt.Sprint(page)}, "per_page": {fmt.Sprint(perPage)}}
	var out CompanyList
	if err := c.do(ctx, "GET", "/companies", "/companies?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ContactCompanyIDs lists the Intercom ids of every company attached to a
// contact (GET /contacts/{id}/companies, all pages). A contact object
// embeds only the first few of its companies (has_more says when there
// are others); this is the complete list.
func (c *Client) ContactCompanyIDs(ctx context.Context, contactID string) ([]string, error) {
	var ids []string
	for page := 1; ; page++ {
		var out struct {
			// The 2.11 description names the list "companies"; accept
			// "data" too, as every other list uses it.
			Companies []Company `json:"companies"`
			Data      []Company `json:"data"`
			Pages     struct {
				TotalPages int `json:"total_pages"`
			} `json:"pages"`
		}
		q := url.Values{"page": {fmt.Sprint(page)}, "per_page": {"150"}}
		if err := c.do(ctx, "GET", "/contacts/{id}/companies",
			"/contacts/"+url.PathEscape(contactID)+"/companies?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		for _, co := range append(out.Companies, out.Data...) {
			ids = append(ids, co.ID)
		}
		if page >= out.Pages.TotalPages {
			return ids, nil
		}
	}
}
