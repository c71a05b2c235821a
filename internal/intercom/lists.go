package intercom

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// MaxSearchPerPage is the largest page POST /contacts/search returns.
const MaxSearchPerPage = 150

// MaxCompaniesPerPage is the largest page GET /companies returns.
const MaxCompaniesPerPage = 60

// MaxSearchINValues is the most values ContactsByExternalIDs puts in one
// IN filter. The 2.11 POST /contacts/search description documents IN as
// "Shortcut for `OR` queries" and says "There's a limit of max 15 filters
// for each AND or OR group", so an IN of more than 15 values is outside
// the documented shape.
const MaxSearchINValues = 15

// ContactsByExternalIDs returns the contacts whose external_id is one of
// ids, every page, in one search per MaxSearchINValues ids. A search
// answered 400 is retried as two searches of half its ids each, down to
// one id a search; a 400 on a single id fails the call. Search is
// eventually consistent: a contact created moments ago may be missing.
func (c *Client) ContactsByExternalIDs(ctx context.Context, ids []string) ([]Contact, error) {
	var out []Contact
	for start := 0; start < len(ids); start += MaxSearchINValues {
		found, err := c.contactsByExternalIDsHalving(ctx, ids[start:min(start+MaxSearchINValues, len(ids))])
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// contactsByExternalIDsHalving searches for ids, splitting the batch in
// two on a 400 until it is a single id.
func (c *Client) contactsByExternalIDsHalving(ctx context.Context, ids []string) ([]Contact, error) {
	found, err := c.contactsByExternalIDsIn(ctx, ids)
	var ie *Error
	if err == nil || len(ids) == 1 || !errors.As(err, &ie) || ie.StatusCode != 400 {
		return found, err
	}
	half := len(ids) / 2
	first, err := c.contactsByExternalIDsHalving(ctx, ids[:half])
	if err != nil {
		return nil, err
	}
	second, err := c.contactsByExternalIDsHalving(ctx, ids[half:])
	if err != nil {
		return nil, err
	}
	return append(first, second...), nil
}

// contactsByExternalIDsIn is one external_id IN search, all its pages
// (external_id is unique, so a batch's matches fit one page). Nothing is
// returned unless every page was read.
func (c *Client) contactsByExternalIDsIn(ctx context.Context, ids []string) ([]Contact, error) {
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = id
	}
	var out []Contact
	cursor := ""
	for {
		page, err := c.SearchContacts(ctx, Filter{Field: "external_id", Operator: "IN", Value: values}, MaxSearchPerPage, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Data...)
		if page.Pages.Next == nil || page.Pages.Next.StartingAfter == "" || len(page.Data) == 0 {
			return out, nil
		}
		cursor = page.Pages.Next.StartingAfter
	}
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
