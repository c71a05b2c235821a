package emulator_test

import (
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// archivedFixture creates a user attached to a company and tagged, then
// archives it.
func archivedFixture(e *env) (id, companyID, tagID string) {
	e.t.Helper()
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1", "name": "Acme"})
	tag := e.ok("POST", "/tags", map[string]any{"name": "vip"})
	c := e.createContact(map[string]any{"external_id": "u-1", "email": "joe@example.com"})
	id = c["id"].(string)
	e.ok("POST", "/contacts/"+id+"/companies", map[string]any{"id": co["id"]})
	e.ok("POST", "/contacts/"+id+"/tags", map[string]any{"id": tag["id"]})
	e.ok("POST", "/contacts/"+id+"/archive", nil)
	return id, co["id"].(string), tag["id"].(string)
}

func TestArchivedContactsAreInvisible(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	id, coID, tagID := archivedFixture(e)
	lead := e.createContact(map[string]any{"role": "lead"})
	p := "/contacts/" + id
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", p, nil},
		{"PUT", p, map[string]any{"name": "x"}},
		{"DELETE", p, nil},
		{"POST", p + "/archive", nil},
		{"GET", p + "/companies", nil},
		{"POST", p + "/companies", map[string]any{"id": coID}},
		{"DELETE", p + "/companies/" + coID, nil},
		{"GET", p + "/tags", nil},
		{"POST", p + "/tags", map[string]any{"id": tagID}},
		{"DELETE", p + "/tags/" + tagID, nil},
		{"POST", "/tags", map[string]any{"name": "vip", "users": []any{map[string]any{"id": id}}}},
		{"POST", "/contacts/merge", map[string]any{"from": lead["id"], "into": id}},
	} {
		r := e.do(call.method, call.path, call.body)
		if r.status != http.StatusNotFound {
			t.Errorf("%s %s on an archived contact: status %d, want 404: %s", call.method, call.path, r.status, r.raw)
			continue
		}
		wantError(t, r, http.StatusNotFound, "not_found", "User Not Found")
	}
	// Search and list hide it.
	if got := ids(e.search(map[string]any{"field": "external_id", "operator": "=", "value": "u-1"}, nil)); len(got) != 0 {
		t.Errorf("search found archived contact: %v", got)
	}
	if got := ids(e.ok("GET", "/contacts", nil)); len(got) != 1 {
		t.Errorf("list = %v, want only the lead", got)
	}
	// Its identity still blocks creates, by external_id and by email.
	msg := "An archived contact matching those details already exists with id=" + id
	wantError(t, e.do("POST", "/contacts", map[string]any{"external_id": "u-1"}), http.StatusConflict, "conflict", msg)
	wantError(t, e.do("POST", "/contacts", map[string]any{"email": "JOE@example.com"}), http.StatusConflict, "conflict", msg)
	// Nothing above changed it; unarchive brings it back whole.
	e.ok("POST", p+"/unarchive", nil)
	got := e.ok("GET", p, nil)
	if got["name"] != nil || num(got["companies"].(map[string]any)["total_count"]) != 1 || len(got["tags"].(map[string]any)["data"].([]any)) != 1 {
		t.Errorf("unarchived contact = %v", got)
	}
}

func TestArchivedWritableLoose(t *testing.T) {
	e := newEnv(t, emulator.Options{Loose: emulator.Loose{ArchivedWritable: true}})
	id, coID, tagID := archivedFixture(e)
	p := "/contacts/" + id
	e.ok("GET", p, nil)
	if u := e.ok("PUT", p, map[string]any{"name": "x"}); u["name"] != "x" {
		t.Errorf("update = %v", u)
	}
	e.ok("DELETE", p+"/companies/"+coID, nil)
	e.ok("DELETE", p+"/tags/"+tagID, nil)
	// Still hidden from search and list.
	if got := ids(e.ok("GET", "/contacts", nil)); len(got) != 0 {
		t.Errorf("list = %v", got)
	}
	e.ok("DELETE", p, nil)
}
