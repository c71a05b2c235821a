package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestConversations(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	e := newEnv(t, emulator.Options{Now: clk.Now})
	c := e.createContact(map[string]any{"external_id": "u-1", "email": "u1@example.com", "name": "U One"})
	cid := c["id"].(string)
	tag := e.ok("POST", "/tags", map[string]any{"name": "billing"})

	convs, err := e.srv.SeedConversation(emulator.Conversation{
		Title:            "Refund",
		Contacts:         []emulator.ContactRef{{ID: cid}},
		TagIDs:           []string{tag["id"].(string)},
		CustomAttributes: map[string]any{"ticket_ref": "T-1"},
		Source:           emulator.ConversationSource{Subject: "Refund please", Body: "<p>Hi</p>"},
		Parts:            []emulator.ConversationPart{{Body: "first reply"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := convs[0].ID
	got := e.ok("GET", "/conversations/"+id, nil)
	if got["id"] != id || got["state"] != "open" || got["open"] != true || got["title"] != "Refund" {
		t.Errorf("conversation = %v", got)
	}
	refs := got["contacts"].(map[string]any)
	if refs["type"] != "contact.list" {
		t.Errorf("contacts = %v", refs)
	}
	ref := refs["contacts"].([]any)[0].(map[string]any)
	if ref["id"] != cid || ref["external_id"] != "u-1" || ref["type"] != "contact" {
		t.Errorf("contact ref = %v", ref)
	}
	author := got["source"].(map[string]any)["author"].(map[string]any)
	if author["type"] != "user" || author["id"] != cid || author["email"] != "u1@example.com" {
		t.Errorf("source author = %v", author)
	}
	if ca := got["custom_attributes"].(map[string]any); ca["ticket_ref"] != "T-1" {
		t.Errorf("custom_attributes = %v", ca)
	}
	if parts := got["conversation_parts"].(map[string]any); parts["total_count"] != float64(1) {
		t.Errorf("parts = %v", parts)
	}

	clk.Advance(time.Minute)
	up := e.ok("PUT", "/conversations/"+id, map[string]any{"read": true,
		"custom_attributes": map[string]any{"ticket_ref": nil, "status": "synced", "count": 2}})
	ca := up["custom_attributes"].(map[string]any)
	if _, ok := ca["ticket_ref"]; ok || ca["status"] != "synced" || ca["count"] != float64(2) || up["read"] != true {
		t.Errorf("update = %v", up)
	}
	if num(up["updated_at"]) != 1_700_000_060 {
		t.Errorf("updated_at = %v", up["updated_at"])
	}
	wantError(t, e.do("GET", "/conversations/42", nil), http.StatusNotFound, "not_found", "Resource Not Found")
	wantError(t, e.do("PUT", "/conversations/42", map[string]any{"read": true}), http.StatusNotFound, "not_found", "Resource Not Found")

	// Seeding validates references.
	if _, err := e.srv.SeedConversation(emulator.Conversation{Contacts: []emulator.ContactRef{{ID: "nope"}}}); err == nil {
		t.Error("seeding with an unknown contact succeeded")
	}
	if _, err := e.srv.SeedConversation(emulator.Conversation{ID: id}); err == nil {
		t.Error("seeding a duplicate id succeeded")
	}
}

func TestSeedConversationOverHTTP(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	c := e.createContact(map[string]any{"external_id": "u-1"})
	// The inspection endpoint needs no token.
	r := e.doOpt("POST", "/_emulator/conversations", []map[string]any{
		{"id": "555", "contacts": []any{map[string]any{"id": c["id"]}}, "custom_attributes": map[string]any{"n": 3}},
		{"state": "closed"},
	}, reqOpt{token: strPtr("")})
	if r.status != http.StatusOK {
		t.Fatalf("seed: %d %s", r.status, r.raw)
	}
	got := e.ok("GET", "/conversations/555", nil)
	if got["custom_attributes"].(map[string]any)["n"] != float64(3) {
		t.Errorf("conversation = %v", got)
	}
	snap := e.srv.Snapshot()
	if len(snap.Conversations) != 2 || snap.Conversations[1].State != "closed" {
		t.Errorf("conversations = %+v", snap.Conversations)
	}
	if v, ok := snap.Conversations[0].CustomAttributes["n"].(int64); !ok || v != 3 {
		t.Errorf("seeded integer attribute = %#v", snap.Conversations[0].CustomAttributes["n"])
	}
	r = e.doOpt("POST", "/_emulator/conversations", map[string]any{"contacts": []any{map[string]any{"id": "nope"}}}, reqOpt{token: strPtr("")})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
}
