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
