package emulator_test

import (
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// Users sharing an email exist in real workspaces; the emulator can hold
// them (seeded), keeps them updatable, and still refuses to make new ones.
func TestDuplicateUsersByEmail(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.defineAttrs("contact", "plan", "string")
	first, err := e.srv.AddContact(emulator.Contact{Role: "user", Email: "dup@example.com", ExternalID: "u-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.AddContact(emulator.Contact{Role: "user", Email: "DUP@example.com"}); err == nil {
		t.Fatal("AddContact seeded a second user with the same email")
	}
	second, err := e.srv.AddDuplicateUser(emulator.Contact{Email: "DUP@example.com", ExternalID: "u-2"})
	if err != nil {
		t.Fatal(err)
	}
	if second.Role != "user" || second.ID == first.ID {
		t.Fatalf("duplicate %+v", second)
	}
	// external_id stays unique, and only users are seeded this way.
	if _, err := e.srv.AddDuplicateUser(emulator.Contact{Email: "dup@example.com", ExternalID: "u-1"}); err == nil {
		t.Fatal("a duplicate external_id was seeded")
	}
	if _, err := e.srv.AddDuplicateUser(emulator.Contact{Role: "lead", Email: "dup@example.com"}); err == nil {
		t.Fatal("a lead was seeded as a duplicate user")
	}

	// Both stay updatable as long as the update keeps their identity.
	for _, id := range []string{first.ID, second.ID} {
		e.ok("PUT", "/contacts/"+id, map[string]any{"custom_attributes": map[string]any{"plan": "pro"}})
	}
	// Archived, the duplicate still does not block the other's updates.
	e.ok("POST", "/contacts/"+second.ID+"/archive", nil)
	e.ok("PUT", "/contacts/"+first.ID, map[string]any{"name": "Dup"})
	// A change of identity is checked: the email of another user is taken.
	third := e.createContact(map[string]any{"role": "user", "email": "third@example.com"})
	r := e.do("PUT", "/contacts/"+third["id"].(string), map[string]any{"email": "dup@example.com"})
	wantError(t, r, http.StatusConflict, "conflict", "A contact matching those details already exists with id="+first.ID)
	// So is a new user with the email.
	r = e.do("POST", "/contacts", map[string]any{"role": "user", "email": "dup@example.com", "external_id": "u-3"})
	wantError(t, r, http.StatusConflict, "conflict", "A contact matching those details already exists with id="+first.ID)
}
