package intercom

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestEmbeddedListsSayWhetherTheyAreComplete(t *testing.T) {
	cases := []struct {
		companies, tags string
		wantCo, wantTag bool
	}{
		{`{"type":"list","data":[{"type":"company","id":"a"}],"total_count":1,"has_more":false}`,
			`{"type":"list","data":[],"total_count":0,"has_more":false}`, true, true},
		{`{"type":"list","data":[{"type":"company","id":"a"}],"total_count":12,"has_more":true}`,
			`{"type":"list","data":[{"type":"tag","id":"t"}],"total_count":1,"has_more":true}`, false, false},
		// has_more false, but more in total than embedded.
		{`{"type":"list","data":[{"type":"company","id":"a"}],"total_count":3,"has_more":false}`,
			`{"type":"list","data":[{"type":"tag","id":"t"}],"total_count":2,"has_more":false}`, false, false},
	}
	for _, tc := range cases {
		var c Contact
		if err := json.Unmarshal([]byte(`{"type":"contact","id":"c1","companies":`+tc.companies+`,"tags":`+tc.tags+`}`), &c); err != nil {
			t.Fatal(err)
		}
		if c.CompanyIDsComplete() != tc.wantCo || c.TagIDsComplete() != tc.wantTag {
			t.Errorf("companies %s tags %s: complete = %v/%v, want %v/%v", tc.companies, tc.tags,
				c.CompanyIDsComplete(), c.TagIDsComplete(), tc.wantCo, tc.wantTag)
		}
	}
}

func TestContactTagIDsReadsTheContactsTagList(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.URL.Path != "/contacts/c 1/tags" {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"type":"error.list","errors":[{"code":"not_found","message":"User Not Found"}]}`)
			return
		}
		fmt.Fprint(w, `{"type":"list","data":[{"type":"tag","id":"93","name":"Manual tag","applied_at":1663597223},{"type":"tag","id":"94","name":"b"}]}`)
	})
	ids, err := c.ContactTagIDs(context.Background(), "c 1")
	if err != nil || fmt.Sprint(ids) != "[93 94]" {
		t.Fatalf("ContactTagIDs = %v, %v", ids, err)
	}
	if _, err := c.ContactTagIDs(context.Background(), "gone"); !IsNotFound(err) {
		t.Fatalf("unknown contact: %v, want a 404", err)
	}
}

// attachedCompanies answers GET /contacts/c1/companies with n companies,
// at most maxPerPage a page whatever per_page asks, in the 2.11 shape.
func attachedCompanies(t *testing.T, n, maxPerPage int, pagesAsked *[]string) *Client {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		*pagesAsked = append(*pagesAsked, q.Get("page"))
		page, err1 := strconv.Atoi(q.Get("page"))
		perPage, err2 := strconv.Atoi(q.Get("per_page"))
		if r.Method != "GET" || r.URL.Path != "/contacts/c1/companies" || err1 != nil || err2 != nil || page < 1 || perPage < 1 {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"type":"error.list","errors":[{"code":"bad","message":"%s %s"}]}`, r.Method, r.URL)
			return
		}
		perPage = min(perPage, maxPerPage)
		var items []string
		for i := (page - 1) * perPage; i < min(page*perPage, n); i++ {
			items = append(items, fmt.Sprintf(`{"type":"company","id":"co%03d"}`, i))
		}
		fmt.Fprintf(w, `{"type":"list","companies":[%s],"pages":{"type":"pages","page":%d,"per_page":%d,"total_pages":%d},"total_count":%d}`,
			strings.Join(items, ","), page, perPage, (n+perPage-1)/perPage, n)
	})
}

func TestContactCompanyIDsReadsEveryPage(t *testing.T) {
	var asked []string
	c := attachedCompanies(t, 230, 60, &asked)
	ids, err := c.ContactCompanyIDs(context.Background(), "c1")
	if err != nil || len(ids) != 230 || ids[0] != "co000" || ids[229] != "co229" || !slices.IsSorted(ids) {
		t.Fatalf("ContactCompanyIDs = %d ids, %v", len(ids), err)
	}
	if fmt.Sprint(asked) != "[1 2 3 4]" {
		t.Fatalf("pages asked %v, want 1 to 4 (60 a page)", asked)
	}
}

func TestContactCompanyIDsStopsAtAnEmptyPage(t *testing.T) {
	var asked int
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		asked++
		if r.URL.Query().Get("page") == "1" {
			fmt.Fprint(w, `{"type":"list","companies":[{"type":"company","id":"a"}],"pages":{"type":"pages","page":1,"per_page":150,"total_pages":50},"total_count":1}`)
			return
		}
		fmt.Fprint(w, `{"type":"list","companies":[],"pages":{"type":"pages","page":2,"per_page":150,"total_pages":50},"total_count":1}`)
	})
	ids, err := c.ContactCompanyIDs(context.Background(), "c1")
	if err != nil || fmt.Sprint(ids) != "[a]" || asked != 2 {
		t.Fatalf("ContactCompanyIDs = %v, %v after %d calls", ids, err, asked)
	}
}

// searchServer answers POST /contacts/search for external_id IN filters
// over the contacts named in known, two contacts a page, and 400 to any IN
// of more than maxIN values (or of a value in refuse).
func searchServer(t *testing.T, known map[string]bool, maxIN int, refuse string, sizes *[]int) *Client {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query struct {
				Field    string `json:"field"`
				Operator string `json:"operator"`
				Value    []string
			} `json:"query"`
			Pagination struct {
				PerPage       int    `json:"per_page"`
				StartingAfter string `json:"starting_after"`
			} `json:"pagination"`
		}
		err := json.NewDecoder(r.Body).Decode(&body)
		q := body.Query
		if r.Method != "POST" || r.URL.Path != "/contacts/search" || err != nil || q.Field != "external_id" || q.Operator != "IN" ||
			body.Pagination.PerPage < 1 || body.Pagination.PerPage > MaxSearchPerPage {
			w.WriteHeader(422)
			fmt.Fprintf(w, `{"type":"error.list","errors":[{"code":"bad","message":"%s %s %v"}]}`, r.Method, r.URL, err)
			return
		}
		*sizes = append(*sizes, len(q.Value))
		if len(q.Value) > maxIN || slices.Contains(q.Value, refuse) {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"type":"error.list","errors":[{"code":"query_invalid","message":"too many filters"}]}`)
			return
		}
		var matches []string
		for _, v := range q.Value {
			if known[v] {
				matches = append(matches, v)
			}
		}
		from, _ := strconv.Atoi(body.Pagination.StartingAfter)
		to := min(from+2, len(matches))
		var data []string
		for _, v := range matches[from:to] {
			data = append(data, fmt.Sprintf(`{"type":"contact","id":"id_%s","external_id":%q}`, v, v))
		}
		next := "null"
		if to < len(matches) {
			next = fmt.Sprintf(`{"page":2,"starting_after":"%d"}`, to)
		}
		fmt.Fprintf(w, `{"type":"list","data":[%s],"total_count":%d,"pages":{"type":"pages","next":%s}}`, strings.Join(data, ","), len(matches), next)
	})
}

func TestContactsByExternalIDsHalvesRefusedBatches(t *testing.T) {
	known := map[string]bool{}
	var ids []string
	for i := range 47 {
		id := fmt.Sprintf("user_%02d", i)
		ids = append(ids, id)
		if i%4 != 3 { // every fourth id has no contact
			known[id] = true
		}
	}
	var sizes []int
	c := searchServer(t, known, 5, "", &sizes)
	got, err := c.ContactsByExternalIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, ct := range got {
		found = append(found, *ct.ExternalID)
	}
	slices.Sort(found)
	var want []string
	for id := range known {
		want = append(want, id)
	}
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Fatalf("found %d contacts %v, want %d %v", len(found), found, len(want), want)
	}
	if slices.Max(sizes) > MaxSearchINValues {
		t.Fatalf("a search sent %d values, more than the documented %d", slices.Max(sizes), MaxSearchINValues)
	}
}

func TestContactsByExternalIDsFailsWhenOneIDIsRefused(t *testing.T) {
	var sizes []int
	c := searchServer(t, map[string]bool{"a": true, "b": true}, 15, "b", &sizes)
	if got, err := c.ContactsByExternalIDs(context.Background(), []string{"a", "b", "c"}); err == nil {
		t.Fatalf("got %d contacts and no error, want the 400 on [b]", len(got))
	}
	if fmt.Sprint(sizes) != "[3 1 2 1]" {
		t.Fatalf("search sizes %v, want [3 1 2 1]: halved to the refused id", sizes)
	}
}
