package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// searchFixture creates five contacts with varied fields and returns their
// ids by name.
func searchFixture(t *testing.T, e *env) map[string]string {
	t.Helper()
	e.defineAttrs("contact", "plan", "string", "seats", "integer", "vip", "boolean")
	tag := e.ok("POST", "/tags", map[string]any{"name": "beta"})
	out := map[string]string{}
	add := func(key string, body map[string]any) {
		out[key] = e.createContact(body)["id"].(string)
	}
	add("ann", map[string]any{"external_id": "u-1", "email": "Ann@Acme.com", "name": "Ann Smith", "phone": "+111",
		"custom_attributes": map[string]any{"plan": "pro", "seats": 10, "vip": true}})
	add("bob", map[string]any{"external_id": "u-2", "email": "bob@acme.com", "name": "Bob Jones",
		"custom_attributes": map[string]any{"plan": "free", "seats": 1}})
	add("cat", map[string]any{"external_id": "u-3", "email": "cat@other.org", "name": "Cat Smith",
		"custom_attributes": map[string]any{"plan": "pro", "seats": 25}})
	add("lead", map[string]any{"role": "lead", "email": "ann@acme.com", "name": "Anonymous"})
	add("gone", map[string]any{"external_id": "u-9", "email": "gone@acme.com"})
	e.ok("POST", "/contacts/"+out["gone"]+"/archive", nil)
	e.ok("POST", "/contacts/"+out["bob"]+"/tags", map[string]any{"id": tag["id"]})
	out["tag"] = tag["id"].(string)
	return out
}

func TestSearchOperators(t *testing.T) {
	e := newEnv(t, emulator.Options{Loose: emulator.Loose{NoSearchLag: true}})
	c := searchFixture(t, e)
	single := func(field, op string, value any) map[string]any {
		return map[string]any{"field": field, "operator": op, "value": value}
	}
	cases := []struct {
		name  string
		query any
		want  []string
	}{
		{"external_id =", single("external_id", "=", "u-2"), []string{"bob"}},
		{"email = is case-insensitive", single("email", "=", "ANN@acme.com"), []string{"ann", "lead"}},
		{"id =", single("id", "=", c["cat"]), []string{"cat"}},
		{"role = lead", single("role", "=", "lead"), []string{"lead"}},
		{"role !=", single("role", "!=", "lead"), []string{"ann", "bob", "cat"}},
		{"IN", single("external_id", "IN", []string{"u-1", "u-3", "nope"}), []string{"ann", "cat"}},
		{"NIN", single("external_id", "NIN", []string{"u-1", "u-3"}), []string{"bob", "lead"}},
		{"~ contains", single("name", "~", "smith"), []string{"ann", "cat"}},
		{"!~", single("name", "!~", "smith"), []string{"bob", "lead"}},
		{"^ starts with", single("email", "^", "ann"), []string{"ann", "lead"}},
		{"$ ends with", single("email", "$", ".org"), []string{"cat"}},
		{"custom string =", single("custom_attributes.plan", "=", "pro"), []string{"ann", "cat"}},
		{"custom number >", single("custom_attributes.seats", ">", 5), []string{"ann", "cat"}},
		{"custom number <", single("custom_attributes.seats", "<", 5), []string{"bob"}},
		{"custom boolean", single("custom_attributes.vip", "=", true), []string{"ann"}},
		{"phone = null", single("phone", "=", nil), []string{"bob", "cat", "lead"}},
		{"tag_id =", single("tag_id", "=", c["tag"]), []string{"bob"}},
		{"tag_id !=", single("tag_id", "!=", c["tag"]), []string{"ann", "cat", "lead"}},
		{"created_at >", single("created_at", ">", 0), []string{"ann", "bob", "cat", "lead"}},
		{"AND", map[string]any{"operator": "AND", "value": []any{
			single("custom_attributes.plan", "=", "pro"), single("email", "$", "acme.com")}}, []string{"ann"}},
		{"OR", map[string]any{"operator": "OR", "value": []any{
			single("external_id", "=", "u-2"), single("role", "=", "lead")}}, []string{"bob", "lead"}},
		{"nested AND in OR", map[string]any{"operator": "OR", "value": []any{
			single("external_id", "=", "u-3"),
			map[string]any{"operator": "AND", "value": []any{
				single("role", "=", "user"), single("custom_attributes.seats", "<", 5)}},
		}}, []string{"bob", "cat"}},
		{"archived is excluded", single("external_id", "=", "u-9"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.search(tc.query, nil)
			var want []string
			for _, k := range tc.want {
				want = append(want, c[k])
			}
			if got := ids(res); !sameSet(got, want) {
				t.Errorf("got %v, want %v (%v)", got, want, tc.want)
			}
			if res["total_count"] != float64(len(tc.want)) {
				t.Errorf("total_count = %v", res["total_count"])
			}
		})
	}
}

func TestSearchRejectsBadQueries(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	skip := reqOpt{skipCheck: true}
	r := e.doOpt("POST", "/contacts/search", map[string]any{"query": map[string]any{"field": "external_id", "operator": "LIKE", "value": "x"}}, skip)
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
	r = e.do("POST", "/contacts/search", map[string]any{"query": map[string]any{"field": "shoe_size", "operator": "=", "value": "x"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
	r = e.do("POST", "/contacts/search", map[string]any{"query": map[string]any{"field": "email", "operator": ">", "value": "x"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
	r = e.do("POST", "/contacts/search", map[string]any{"query": map[string]any{"field": "email", "operator": "IN", "value": "x"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
	// Three levels of nesting are too many.
	deep := map[string]any{"operator": "AND", "value": []any{map[string]any{"operator": "OR", "value": []any{
		map[string]any{"operator": "AND", "value": []any{map[string]any{"field": "id", "operator": "=", "value": "x"}}}}}}}
	r = e.do("POST", "/contacts/search", map[string]any{"query": deep})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
	r = e.do("POST", "/contacts/search", map[string]any{"query": map[string]any{"field": "id", "operator": "=", "value": "x"},
		"pagination": map[string]any{"per_page": 5, "starting_after": "not-a-cursor"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
}

func TestSearchPagination(t *testing.T) {
	e := newEnv(t, emulator.Options{Loose: emulator.Loose{NoSearchLag: true}})
	var all []string
	for i := range 12 {
		c := e.createContact(map[string]any{"role": "lead", "name": "lead", "email": "l" + string(rune('a'+i)) + "@x.com"})
		all = append(all, c["id"].(string))
	}
	query := map[string]any{"field": "role", "operator": "=", "value": "lead"}

	// Default page size is 50.
	res := e.search(query, nil)
	pages := res["pages"].(map[string]any)
	if len(ids(res)) != 12 || pages["per_page"] != float64(50) || pages["next"] != nil {
		t.Errorf("default page: %d ids, pages %v", len(ids(res)), pages)
	}

	var got []string
	var cursor any
	for page := 1; page <= 10; page++ {
		p := map[string]any{"per_page": 5}
		if cursor != nil {
			p["starting_after"] = cursor
		}
		res := e.search(query, p)
		pages := res["pages"].(map[string]any)
		wantTotal := float64(12)
		if page > 1 {
			wantTotal = 13 // one contact was added after page 1
		}
		if pages["page"] != float64(page) || pages["total_pages"] != float64(3) || res["total_count"] != wantTotal {
			t.Errorf("page %d: pages %v total %v", page, pages, res["total_count"])
		}
		got = append(got, ids(res)...)
		next, ok := pages["next"].(map[string]any)
		if !ok {
			break
		}
		cursor = next["starting_after"]
		// A contact created mid-way shows up on a later page, not twice.
		if page == 1 {
			c := e.createContact(map[string]any{"role": "lead", "email": "late@x.com"})
			all = append(all, c["id"].(string))
		}
	}
	if len(got) != 13 || !sameSet(got, all) {
		t.Errorf("paged %d ids, want 13: %v", len(got), got)
	}

	// per_page is capped at 150.
	res = e.search(query, map[string]any{"per_page": 500})
	if res["pages"].(map[string]any)["per_page"] != float64(150) {
		t.Errorf("per_page not capped: %v", res["pages"])
	}
}

func TestSearchIndexDelay(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	e := newEnv(t, emulator.Options{Now: clk.Now, SearchIndexDelay: time.Minute})
	c := e.createContact(map[string]any{"external_id": "u-1"})
	q := map[string]any{"field": "external_id", "operator": "=", "value": "u-1"}
	if got := ids(e.search(q, nil)); len(got) != 0 {
		t.Errorf("fresh contact visible to search: %v", got)
	}
	// ...but the duplicate check sees it, the classic search-then-409 race.
	wantError(t, e.do("POST", "/contacts", map[string]any{"external_id": "u-1"}), http.StatusConflict, "conflict", "")
	clk.Advance(61 * time.Second)
	if got := ids(e.search(q, nil)); len(got) != 1 || got[0] != c["id"] {
		t.Errorf("indexed contact not found: %v", got)
	}
}

func TestSearchLagsUpdates(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	e := newEnv(t, emulator.Options{Now: clk.Now}) // default delay: 2 s
	c := e.createContact(map[string]any{"external_id": "u-1", "name": "Old"})
	id := c["id"].(string)
	byName := func(name string) []string {
		return ids(e.search(map[string]any{"field": "name", "operator": "=", "value": name}, nil))
	}
	clk.Advance(1900 * time.Millisecond)
	if got := byName("Old"); len(got) != 0 {
		t.Errorf("contact created 1.9 s ago found: %v", got)
	}
	clk.Advance(100 * time.Millisecond)
	if got := byName("Old"); len(got) != 1 {
		t.Errorf("contact created 2 s ago not found: %v", got)
	}
	// An update: search still matches and shows the old values, GET shows
	// the new ones at once.
	e.ok("PUT", "/contacts/"+id, map[string]any{"name": "New"})
	clk.Advance(time.Second)
	e.ok("PUT", "/contacts/"+id, map[string]any{"name": "Newer"})
	if got := byName("New"); len(got) != 0 {
		t.Errorf("intermediate value searchable: %v", got)
	}
	res := e.search(map[string]any{"field": "name", "operator": "=", "value": "Old"}, nil)
	if got := ids(res); len(got) != 1 || res["data"].([]any)[0].(map[string]any)["name"] != "Old" {
		t.Errorf("search during the lag = %v, want the old values", res["data"])
	}
	if g := e.ok("GET", "/contacts/"+id, nil); g["name"] != "Newer" {
		t.Errorf("GET = %v, want the new name", g["name"])
	}
	// Tagging lags like any write.
	tag := e.ok("POST", "/tags", map[string]any{"name": "vip"})
	clk.Advance(2 * time.Second)
	e.ok("POST", "/contacts/"+id+"/tags", map[string]any{"id": tag["id"]})
	byTag := map[string]any{"field": "tag_id", "operator": "=", "value": tag["id"]}
	if got := ids(e.search(byTag, nil)); len(got) != 0 {
		t.Errorf("tag searchable at once: %v", got)
	}
	if got := byName("Newer"); len(got) != 1 {
		t.Errorf("earlier update not indexed 2 s later: %v", got)
	}
	clk.Advance(2 * time.Second)
	if got := ids(e.search(byTag, nil)); len(got) != 1 {
		t.Errorf("tag not searchable 2 s later: %v", got)
	}

	// Loose: search sees every write at once.
	l := newEnv(t, emulator.Options{Now: clk.Now, Loose: emulator.Loose{NoSearchLag: true}})
	lc := l.createContact(map[string]any{"external_id": "u-1", "name": "Old"})
	l.ok("PUT", "/contacts/"+lc["id"].(string), map[string]any{"name": "New"})
	if got := ids(l.search(map[string]any{"field": "name", "operator": "=", "value": "New"}, nil)); len(got) != 1 {
		t.Errorf("loose: update not searchable at once: %v", got)
	}
}

func TestSeededContactsAreIndexed(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	if _, err := e.srv.AddContact(emulator.Contact{ExternalID: "u-1"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(e.search(map[string]any{"field": "external_id", "operator": "=", "value": "u-1"}, nil)); len(got) != 1 {
		t.Errorf("seeded contact not searchable: %v", got)
	}
}

// IN is documented as a shortcut for OR, and an OR group holds at most 15
// filters: strict, an IN of 16 values is refused (so is a NIN, and one
// nested in a group); Loose.LargeSearchFilters accepts them.
func TestSearchINOfMoreThan15Values(t *testing.T) {
	values := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = "u-" + string(rune('a'+i))
		}
		return out
	}
	search := func(e *env, op string, n int, nested bool) result {
		q := map[string]any{"field": "external_id", "operator": op, "value": values(n)}
		if nested {
			q = map[string]any{"operator": "AND", "value": []any{q, map[string]any{"field": "role", "operator": "=", "value": "user"}}}
		}
		return e.doOpt("POST", "/contacts/search", map[string]any{"query": q}, reqOpt{skipCheck: true})
	}
	strict := newEnv(t, emulator.Options{})
	for _, c := range []struct {
		op     string
		n      int
		nested bool
	}{{"IN", 16, false}, {"NIN", 16, false}, {"IN", 16, true}} {
		wantError(t, search(strict, c.op, c.n, c.nested), http.StatusBadRequest, "parameter_invalid",
			"Operator '"+c.op+"' takes at most 15 values (a shortcut for an OR group of 15 filters)")
	}
	if r := search(strict, "IN", 15, false); r.status != http.StatusOK {
		t.Fatalf("IN of 15: %d %s", r.status, r.raw)
	}
	loose := newEnv(t, emulator.Options{Loose: emulator.Loose{LargeSearchFilters: true}})
	if r := search(loose, "IN", 150, false); r.status != http.StatusOK {
		t.Fatalf("loose IN of 150: %d %s", r.status, r.raw)
	}
}
