package emulator_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func companyIDs(list map[string]any) []string {
	var out []string
	for _, d := range list["data"].([]any) {
		out = append(out, d.(map[string]any)["company_id"].(string))
	}
	return out
}

// companyListFixture: a (seen at 100), b (no users), c (seen at 300),
// d (a user never seen).
func companyListFixture(t *testing.T, e *env) {
	t.Helper()
	co := map[string]string{}
	for _, id := range []string{"a", "b", "c", "d"} {
		co[id] = e.ok("POST", "/companies", map[string]any{"company_id": id})["id"].(string)
	}
	for _, u := range []struct {
		co   string
		seen int64
	}{{"a", 100}, {"c", 300}, {"d", 0}} {
		body := map[string]any{"external_id": "u-" + u.co}
		if u.seen != 0 {
			body["last_seen_at"] = u.seen
		}
		id := e.createContact(body)["id"].(string)
		e.ok("POST", "/contacts/"+id+"/companies", map[string]any{"id": co[u.co]})
	}
}

func TestCompanyListSemantics(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	companyListFixture(t, e)
	want := []string{"c", "a", "d"} // b has no users
	if got := companyIDs(e.ok("GET", "/companies", nil)); !slices.Equal(got, want) {
		t.Errorf("GET /companies = %v, want %v", got, want)
	}
	l := e.ok("POST", "/companies/list", nil)
	if got := companyIDs(l); !slices.Equal(got, want) || num(l["total_count"]) != 3 {
		t.Errorf("POST /companies/list = %v (%v), want %v", got, l["total_count"], want)
	}
	if got := companyIDs(e.ok("POST", "/companies/list?order=asc", nil)); !slices.Equal(got, []string{"d", "a", "c"}) {
		t.Errorf("order=asc = %v", got)
	}
	p := e.ok("POST", "/companies/list?per_page=1&page=2", nil)
	if got := companyIDs(p); !slices.Equal(got, []string{"a"}) || num(p["pages"].(map[string]any)["total_pages"]) != 3 {
		t.Errorf("page 2 = %v %v", got, p["pages"])
	}
	if lr := e.ok("GET", "/companies?company_id=c", nil)["last_request_at"]; num(lr) != 300 {
		t.Errorf("last_request_at = %v, want 300", lr)
	}

	loose := newEnv(t, emulator.Options{Loose: emulator.Loose{ListsEveryCompany: true}})
	companyListFixture(t, loose)
	every := []string{"a", "b", "c", "d"}
	if got := companyIDs(loose.ok("GET", "/companies", nil)); !slices.Equal(got, every) {
		t.Errorf("loose GET /companies = %v, want %v", got, every)
	}
	if got := companyIDs(loose.ok("POST", "/companies/list", nil)); !slices.Equal(got, every) {
		t.Errorf("loose POST /companies/list = %v, want %v", got, every)
	}
}

func TestCompanyListStopsAt10000(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	var ids []string
	for i := range 10_001 {
		co, err := e.srv.AddCompany(emulator.Company{CompanyID: fmt.Sprintf("c-%05d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, co.ID)
	}
	if _, err := e.srv.AddContact(emulator.Contact{ExternalID: "u-1", CompanyIDs: ids}); err != nil {
		t.Fatal(err)
	}
	last := e.ok("POST", "/companies/list?per_page=60&page=167", nil) // items 9961..10020
	if n := len(last["data"].([]any)); n != 40 {
		t.Errorf("last page holds %d companies, want 40 (the list stops at 10,000)", n)
	}
	if num(last["pages"].(map[string]any)["total_pages"]) != 167 {
		t.Errorf("pages = %v", last["pages"])
	}
	// Scroll reaches every one.
	seen := 0
	param := ""
	for {
		path := "/companies/scroll"
		if param != "" {
			path += "?scroll_param=" + param
		}
		page := e.ok("GET", path, nil)
		n := len(page["data"].([]any))
		if n == 0 {
			break
		}
		seen += n
		param = page["scroll_param"].(string)
	}
	if seen != 10_001 {
		t.Errorf("scroll saw %d companies, want 10001", seen)
	}
}

func TestCompanyScroll(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	e := newEnv(t, emulator.Options{Now: clk.Now})
	companyListFixture(t, e)
	first := e.ok("GET", "/companies/scroll", nil)
	if got := companyIDs(first); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("scroll = %v, want every company in creation order", got)
	}
	if first["total_count"] != nil {
		t.Errorf("total_count = %v, want null", first["total_count"])
	}
	param := first["scroll_param"].(string)
	end := e.ok("GET", "/companies/scroll?scroll_param="+param, nil)
	if len(end["data"].([]any)) != 0 {
		t.Errorf("end of scroll = %v", end)
	}
	// The scroll expired at its end...
	wantError(t, e.do("GET", "/companies/scroll?scroll_param="+param, nil), http.StatusBadRequest, "parameter_invalid", "")
	// ...and after a minute unused.
	p2 := e.ok("GET", "/companies/scroll", nil)["scroll_param"].(string)
	clk.Advance(time.Minute)
	wantError(t, e.do("GET", "/companies/scroll?scroll_param="+p2, nil), http.StatusBadRequest, "parameter_invalid", "")
}

func TestCompanyContacts(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1"})["id"].(string)
	var want []string
	for i := range 3 {
		id := e.createContact(map[string]any{"external_id": fmt.Sprintf("u-%d", i)})["id"].(string)
		e.ok("POST", "/contacts/"+id+"/companies", map[string]any{"id": co})
		want = append(want, id)
	}
	e.ok("POST", "/contacts/"+want[2]+"/archive", nil)
	l := e.ok("GET", "/companies/"+co+"/contacts", nil)
	if got := ids(l); !slices.Equal(got, want[:2]) || num(l["total_count"]) != 2 {
		t.Errorf("company contacts = %v (%v), want %v (archived hidden)", got, l["total_count"], want[:2])
	}
	p := e.ok("GET", "/companies/"+co+"/contacts?per_page=1&page=2", nil)
	if got := ids(p); !slices.Equal(got, want[1:2]) {
		t.Errorf("page 2 = %v", got)
	}
	wantError(t, e.do("GET", "/companies/0123456789abcdef01234567/contacts", nil), http.StatusNotFound, "company_not_found", "Company Not Found")
}
