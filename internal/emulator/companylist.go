package emulator

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Company list semantics, from the spec's description of POST
// /companies/list: "The company list is sorted by the last_request_at field
// and by default is ordered descending", "the API does not include
// companies who have no associated users in list responses", and "there is
// a limit of 10,000 Companies that can be returned" (use the Scroll API
// beyond). GET /companies without company_id/name lists the same way.
// Loose.ListsEveryCompany restores the emulator's earlier lists: every
// company, in creation order, without the cap.
const (
	maxListedCompanies = 10_000
	// scrollPageSize is the page of GET /companies/scroll; the spec does
	// not document it.
	scrollPageSize = 50
	// scrollTTL: "If the scroll isn't used for 1 minute, it expires".
	scrollTTL = time.Minute
)

// lastRequestAt is a company's last_request_at: the latest last_seen_at of
// its contacts (0, Intercom's null, if none was ever seen).
func (st *store) lastRequestAt(co *Company) int64 {
	var last int64
	for _, id := range co.ContactIDs {
		if ct := st.contacts[id]; ct != nil && ct.LastSeenAt > last {
			last = ct.LastSeenAt
		}
	}
	return last
}

// listedCompanies returns the companies a list shows, optionally only
// those tagged tagID: with users, by last_request_at (desc unless asc,
// ties in creation order), capped at maxListedCompanies; total is the
// count before the cap.
func (s *Server) listedCompanies(tagID string, asc bool) (list []*Company, total int) {
	st := s.st
	loose := s.opts.Loose.ListsEveryCompany
	for _, co := range st.sortedCompanies() {
		if tagID != "" && !slices.Contains(co.TagIDs, tagID) {
			continue
		}
		if !loose && len(co.ContactIDs) == 0 {
			continue
		}
		list = append(list, co)
	}
	if loose {
		return list, len(list)
	}
	last := make(map[*Company]int64, len(list))
	for _, co := range list {
		last[co] = st.lastRequestAt(co)
	}
	slices.SortStableFunc(list, func(a, b *Company) int {
		if asc {
			return cmp.Compare(last[a], last[b])
		}
		return cmp.Compare(last[b], last[a])
	})
	total = len(list)
	if len(list) > maxListedCompanies {
		list = list[:maxListedCompanies]
	}
	return list, total
}

// companyListPage renders one page of a company_list.
func (s *Server) companyListPage(all []*Company, total int, page, perPage int64) obj {
	start, end, totalPages := pageBounds(len(all), page, perPage)
	data := make([]any, 0, end-start)
	for _, co := range all[start:end] {
		data = append(data, s.renderCompany(co))
	}
	return obj{
		"type":        "list",
		"data":        data,
		"total_count": total,
		"pages":       obj{"type": "pages", "page": page, "per_page": perPage, "total_pages": totalPages},
	}
}

// listAllCompanies is POST /companies/list. The spec takes page, per_page
// and order as query parameters; page and per_page are also read from a
// JSON body, which some clients send, the query winning.
func (s *Server) listAllCompanies(c *call) (any, *apiError) {
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	for _, k := range []string{"page", "per_page"} {
		if q.Get(k) != "" {
			continue
		}
		if v, ok, err := f.integer(k); err != nil {
			return nil, err
		} else if ok {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	c.r.URL.RawQuery = q.Encode()
	asc := false
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		asc = true
	default:
		return nil, paramInvalid("order must be asc or desc")
	}
	page, perPage, err := pageParams(c.r, 15, 60)
	if err != nil {
		return nil, err
	}
	all, total := s.listedCompanies("", asc)
	return s.companyListPage(all, total, page, perPage), nil
}

// companyScroll is the one open scroll of the workspace ("Each app can only
// have 1 scroll open at a time"): starting a new scroll replaces it.
type companyScroll struct {
	param    string
	afterSeq int64 // companies with a greater seq are still to come
	lastUsed time.Time
	done     bool
}

// scrollCompanies is GET /companies/scroll: every company, users or not,
// in creation order, scrollPageSize at a time. The first call (no
// scroll_param) opens a scroll; each answer carries the scroll_param of the
// next call. At the end data is empty and the scroll expires, as does a
// scroll unused for a minute; an expired or unknown scroll_param is 400
// parameter_invalid (the spec documents no error for it).
func (s *Server) scrollCompanies(c *call) (any, *apiError) {
	st := s.st
	param := c.r.URL.Query().Get("scroll_param")
	var sc *companyScroll
	if param == "" {
		sc = &companyScroll{param: newUUID()}
		st.scroll = sc
	} else {
		sc = st.scroll
		if sc == nil || sc.param != param || sc.done || c.now.Sub(sc.lastUsed) >= scrollTTL {
			return nil, paramInvalid("scroll_param is invalid or has expired; restart the scroll")
		}
	}
	sc.lastUsed = c.now
	data := []any{}
	for _, co := range st.sortedCompanies() {
		if len(data) == scrollPageSize {
			break
		}
		if co.seq > sc.afterSeq {
			data = append(data, s.renderCompany(co))
			sc.afterSeq = co.seq
		}
	}
	if len(data) == 0 {
		sc.done = true
	}
	return obj{"type": "list", "data": data, "total_count": nil, "scroll_param": sc.param}, nil
}

// listCompanyContacts is GET /companies/{company_id}/contacts
// (company_attached_contacts, page based, 15 per page by default): the
// contacts attached to the company that the API can see.
func (s *Server) listCompanyContacts(c *call) (any, *apiError) {
	co := s.st.companies[c.r.PathValue("company_id")]
	if co == nil {
		return nil, errCompanyNotFound()
	}
	var all []*Contact
	for _, ct := range s.st.sortedContacts() {
		if slices.Contains(co.ContactIDs, ct.ID) && s.visibleContact(ct.ID) != nil {
			all = append(all, ct)
		}
	}
	data, pages, err := pageOf(c.r, all, 15, s.renderContact)
	if err != nil {
		return nil, err
	}
	return obj{"type": "list", "data": data, "total_count": len(all), "pages": pages}, nil
}
