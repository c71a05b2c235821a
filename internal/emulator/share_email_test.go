package emulator_test

import (
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestUsersShareEmail(t *testing.T) {
	for _, loose := range []bool{false, true} {
		e := newEnv(t, emulator.Options{Loose: emulator.Loose{UsersShareEmail: loose}})
		a := e.createContact(map[string]any{"external_id": "u-1", "email": "joe@example.com"})
		anon := e.createContact(map[string]any{"email": "anon@example.com"})
		aMsg := "A contact matching those details already exists with id=" + a["id"].(string)
		anonMsg := "A contact matching those details already exists with id=" + anon["id"].(string)

		r := e.do("POST", "/contacts", map[string]any{"external_id": "u-2", "email": "JOE@example.com"})
		if !loose {
			wantError(t, r, http.StatusConflict, "conflict", aMsg)
		} else if r.status != http.StatusOK {
			t.Errorf("loose: user with another external_id and the same email: %d %s", r.status, r.raw)
		}
		// Whatever the flag, an email matching a user without an
		// external_id, or a new user without one, is a conflict; so is
		// the same external_id.
		wantError(t, e.do("POST", "/contacts", map[string]any{"external_id": "u-3", "email": "anon@example.com"}), http.StatusConflict, "conflict", anonMsg)
		wantError(t, e.do("POST", "/contacts", map[string]any{"email": "joe@example.com"}), http.StatusConflict, "conflict", aMsg)
		wantError(t, e.do("POST", "/contacts", map[string]any{"external_id": "u-1", "email": "other@example.com"}), http.StatusConflict, "conflict", aMsg)
		// Updates follow the same rule.
		b := e.createContact(map[string]any{"external_id": "u-4", "email": "b@example.com"})
		r = e.do("PUT", "/contacts/"+b["id"].(string), map[string]any{"email": "joe@example.com"})
		if !loose {
			wantError(t, r, http.StatusConflict, "conflict", aMsg)
		} else if r.status != http.StatusOK {
			t.Errorf("loose: update to a shared email: %d %s", r.status, r.raw)
		}
	}
}
