package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestCountersAndState(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.do("GET", "/me", nil)
	c := e.createContact(map[string]any{"external_id": "u-1"})
	id := c["id"].(string)
	e.do("PUT", "/contacts/"+id, map[string]any{"name": "x"})
	e.do("PUT", "/contacts/"+id, map[string]any{"name": "y"})
	e.search(map[string]any{"field": "id", "operator": "=", "value": id}, nil)
	e.do("GET", "/contacts/"+id, nil)
	e.do("POST", "/contacts", map[string]any{"external_id": "u-1"}) // 409 still reached the API
	e.doOpt("GET", "/me", nil, reqOpt{token: strPtr("bad")})        // 401: counted apart
	wantError(t, e.do("GET", "/widgets", nil), http.StatusNotFound, "not_found", "Resource Not Found")

	r := e.doOpt("GET", "/_emulator/state", nil, reqOpt{token: strPtr("")})
	if r.status != http.StatusOK {
		t.Fatalf("state: %d", r.status)
	}
	var st emulator.State
	if err := json.Unmarshal(r.raw, &st); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"GET /me":                    1,
		"POST /contacts":             2,
		"PUT /contacts/{contact_id}": 2,
		"POST /contacts/search":      1,
		"GET /contacts/{contact_id}": 1,
	}
	for k, v := range want {
		if st.Counters.ByEndpoint[k] != v {
			t.Errorf("by_endpoint[%q] = %d, want %d (%v)", k, st.Counters.ByEndpoint[k], v, st.Counters.ByEndpoint)
		}
	}
	if len(st.Counters.ByEndpoint) != len(want) {
		t.Errorf("by_endpoint has extra keys: %v", st.Counters.ByEndpoint)
	}
	if st.Counters.Requests != 7 || st.Counters.Writes != 4 || st.Counters.Unauthorized != 1 {
		t.Errorf("counters = %+v", st.Counters)
	}
	if len(st.Contacts) != 1 || st.Contacts[0].ExternalID != "u-1" || st.Contacts[0].Name != "y" {
		t.Errorf("contacts = %+v", st.Contacts)
	}
	if len(st.DataAttributes) == 0 {
		t.Error("no data attributes in state")
	}
	// The Go snapshot is the same state.
	if snap := e.srv.Snapshot(); snap.Counters.Requests != st.Counters.Requests || snap.Contacts[0].ID != id {
		t.Errorf("snapshot = %+v", snap.Counters)
	}

	// Snapshots are copies.
	snap := e.srv.Snapshot()
	snap.Contacts[0].CustomAttributes["x"] = 1
	if _, ok := e.srv.Snapshot().Contacts[0].CustomAttributes["x"]; ok {
		t.Error("snapshot shares maps with the server")
	}

	r = e.doOpt("POST", "/_emulator/reset", nil, reqOpt{token: strPtr("")})
	if r.status != http.StatusOK {
		t.Fatalf("reset: %d", r.status)
	}
	snap = e.srv.Snapshot()
	if len(snap.Contacts) != 0 || snap.Counters.Requests != 0 || len(snap.Counters.ByEndpoint) != 0 {
		t.Errorf("after reset: %+v", snap)
	}
	wantError(t, e.do("GET", "/contacts/"+id, nil), http.StatusNotFound, "not_found", "User Not Found")
}

func TestSeedHelpers(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	co, err := e.srv.AddCompany(emulator.Company{CompanyID: "c-1", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	tag := e.srv.AddTag("seeded")
	c, err := e.srv.AddContact(emulator.Contact{ExternalID: "u-1", Email: "u@example.com",
		CompanyIDs: []string{co.ID}, TagIDs: []string{tag.ID}, CustomAttributes: map[string]any{"legacy": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.ok("GET", "/contacts/"+c.ID, nil)
	if got["role"] != "user" || ids(got["companies"].(map[string]any))[0] != co.ID || ids(got["tags"].(map[string]any))[0] != tag.ID {
		t.Errorf("seeded contact = %v", got)
	}
	if company := e.ok("GET", "/companies?company_id=c-1", nil); company["user_count"] != float64(1) {
		t.Errorf("seeded company = %v", company)
	}
	if _, err := e.srv.AddContact(emulator.Contact{ExternalID: "u-1"}); err == nil {
		t.Error("duplicate seeded contact accepted")
	}
	if _, err := e.srv.AddCompany(emulator.Company{CompanyID: "c-1"}); err == nil {
		t.Error("duplicate seeded company accepted")
	}
}
