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

// contactCompaniesPerPage is the per_page of GET /contacts/{id}/companies
// (the spec's default is 15 and it states no maximum; a contact has at most
// 1000 companies).
const contactCompaniesPerPage = 150

// ContactCompanyIDs lists the Intercom ids of every company attached to a
// contact (GET /contacts/{id}/companies?page=&per_page=, pages from 1 until
// pages.total_pages). A contact object embeds only the first few of its
// companies (CompanyIDsComplete says when those are all); this is the
// complete list.
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
		q := url.Values{"page": {fmt.Sprint(page)}, "per_page": {fmt.Sprint(contactCompaniesPerPage)}}
		if err := c.do(ctx, "GET", "/contacts/{id}/companies",
			"/contacts/"+url.PathEscape(contactID)+"/companies?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		got := append(out.Companies, out.Data...)
		for _, co := range got {
			ids = append(ids, co.ID)
		}
		// An empty page ends the list too, whatever total_pages said.
		if page >= out.Pages.TotalPages || len(got) == 0 {
			return ids, nil
		}
	}
}
