package emulator_test

import (
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
