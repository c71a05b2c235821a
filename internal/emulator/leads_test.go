package emulator_test

import (
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestLeadsDropExternalID(t *testing.T) {
	for _, loose := range []bool{false, true} {
		e := newEnv(t, emulator.Options{Loose: emulator.Loose{LeadsKeepExternalID: loose, NoSearchLag: true}})
		want := any(nil)
		if loose {
			want = "lead-1"
		}
		lead := e.createContact(map[string]any{"role": "lead", "external_id": "lead-1", "email": "l@example.com"})
		id := lead["id"].(string)
		if lead["external_id"] != want {
			t.Errorf("loose=%v: created lead external_id = %v, want %v", loose, lead["external_id"], want)
		}
		u := e.ok("PUT", "/contacts/"+id, map[string]any{"external_id": "lead-2"})
		if loose {
			want = "lead-2"
		}
		if u["external_id"] != want {
			t.Errorf("loose=%v: updated lead external_id = %v, want %v", loose, u["external_id"], want)
		}
		found := ids(e.search(map[string]any{"field": "external_id", "operator": "=", "value": "lead-2"}, nil))
		if (len(found) == 1) != loose {
			t.Errorf("loose=%v: search by the lead's external_id = %v", loose, found)
		}
		// Strict or not, the dropped id is free for a user, and a lead
		// becoming a user in the same request keeps it.
		if !loose {
			e.createContact(map[string]any{"external_id": "lead-1"})
		}
		conv := e.ok("PUT", "/contacts/"+id, map[string]any{"role": "user", "external_id": "u-9"})
		if conv["external_id"] != "u-9" || conv["role"] != "user" {
			t.Errorf("loose=%v: lead to user = %v", loose, conv)
		}
	}
}

func TestUserCannotBecomeLead(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	u := e.createContact(map[string]any{"external_id": "u-1", "name": "U"})
	id := u["id"].(string)
	r := e.do("PUT", "/contacts/"+id, map[string]any{"role": "lead", "name": "changed"})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "A user cannot be converted to a lead")
	if g := e.ok("GET", "/contacts/"+id, nil); g["role"] != "user" || g["name"] != "U" {
		t.Errorf("rejected update changed the contact: %v", g)
	}
	// Re-sending role user, and lead -> user, are fine.
	e.ok("PUT", "/contacts/"+id, map[string]any{"role": "user"})
	lead := e.createContact(map[string]any{"role": "lead"})
	if c := e.ok("PUT", "/contacts/"+lead["id"].(string), map[string]any{"role": "user", "external_id": "u-2"}); c["role"] != "user" {
		t.Errorf("lead to user = %v", c)
	}
	// A merged lead is gone.
	l2 := e.createContact(map[string]any{"role": "lead"})
	e.ok("POST", "/contacts/merge", map[string]any{"from": l2["id"], "into": id})
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		var body any
		if m == "PUT" {
			body = map[string]any{"name": "x"}
		}
		wantError(t, e.do(m, "/contacts/"+l2["id"].(string), body), http.StatusNotFound, "not_found", "User Not Found")
	}
	wantError(t, e.do("POST", "/contacts/merge", map[string]any{"from": id, "into": lead["id"]}), http.StatusBadRequest, "parameter_invalid", "The contact to merge from must be a lead")

	l := newEnv(t, emulator.Options{Loose: emulator.Loose{UsersBecomeLeads: true}})
	lu := l.createContact(map[string]any{"email": "x@example.com"})
	if c := l.ok("PUT", "/contacts/"+lu["id"].(string), map[string]any{"role": "lead"}); c["role"] != "lead" {
		t.Errorf("loose: user to lead = %v", c)
	}
}
