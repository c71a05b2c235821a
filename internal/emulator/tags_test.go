package emulator_test

import (
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestTags(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	vip := e.ok("POST", "/tags", map[string]any{"name": "VIP"})
	if vip["type"] != "tag" || vip["name"] != "VIP" {
		t.Errorf("tag = %v", vip)
	}
	// Names are case-insensitive: the existing tag comes back.
	if again := e.ok("POST", "/tags", map[string]any{"name": "vip"}); again["id"] != vip["id"] {
		t.Errorf("case-insensitive create gave %v", again)
	}
	e.ok("POST", "/tags", map[string]any{"name": "churn-risk"})
	list := e.ok("GET", "/tags", nil)
	if len(ids(list)) != 2 {
		t.Errorf("tags = %v", list)
	}
	wantError(t, e.do("POST", "/tags", map[string]any{"name": " "}), http.StatusBadRequest, "parameter_invalid", "")
	// Rename.
	if renamed := e.ok("POST", "/tags", map[string]any{"id": vip["id"], "name": "Very Important"}); renamed["name"] != "Very Important" {
		t.Errorf("rename = %v", renamed)
	}

	c := e.createContact(map[string]any{"external_id": "u-1"})
	cid := c["id"].(string)
	tagID := vip["id"].(string)
	applied := e.ok("POST", "/contacts/"+cid+"/tags", map[string]any{"id": tagID})
	if applied["id"] != tagID || applied["applied_at"] == nil || applied["applied_by"].(map[string]any)["id"] != emulator.AdminID {
		t.Errorf("tag contact = %v", applied)
	}
	e.ok("POST", "/contacts/"+cid+"/tags", map[string]any{"id": tagID}) // twice: no-op
	if got := e.ok("GET", "/contacts/"+cid+"/tags", nil); len(ids(got)) != 1 {
		t.Errorf("contact tags = %v", got)
	}
	if refs := e.ok("GET", "/contacts/"+cid, nil)["tags"].(map[string]any); refs["total_count"] != float64(1) || ids(refs)[0] != tagID {
		t.Errorf("contact tag refs = %v", refs)
	}
	missing := "0123456789abcdef01234567"
	wantError(t, e.do("POST", "/contacts/"+missing+"/tags", map[string]any{"id": tagID}), http.StatusNotFound, "not_found", "User Not Found")
	wantError(t, e.do("POST", "/contacts/"+cid+"/tags", map[string]any{"id": "999"}), http.StatusNotFound, "not_found", "Resource Not Found")

	untagged := e.ok("DELETE", "/contacts/"+cid+"/tags/"+tagID, nil)
	if untagged["id"] != tagID {
		t.Errorf("untag = %v", untagged)
	}
	wantError(t, e.do("DELETE", "/contacts/"+cid+"/tags/"+tagID, nil), http.StatusNotFound, "not_found", "Resource Not Found")
	wantError(t, e.do("DELETE", "/contacts/"+missing+"/tags/"+tagID, nil), http.StatusNotFound, "not_found", "User Not Found")

	// Tagging users and companies through POST /tags.
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1"})
	e.ok("POST", "/tags", map[string]any{"name": "bulk", "users": []any{map[string]any{"id": cid}}})
	e.ok("POST", "/tags", map[string]any{"name": "bulk", "companies": []any{map[string]any{"company_id": "c-1"}}})
	if tags := e.ok("GET", "/companies/"+co["id"].(string), nil)["tags"].(map[string]any)["tags"].([]any); len(tags) != 1 {
		t.Errorf("company tags = %v", tags)
	}
	e.ok("POST", "/tags", map[string]any{"name": "bulk", "companies": []any{map[string]any{"id": co["id"], "company_id": "c-1", "untag": true}}})
	if tags := e.ok("GET", "/companies/"+co["id"].(string), nil)["tags"].(map[string]any)["tags"].([]any); len(tags) != 0 {
		t.Errorf("company tags after untag = %v", tags)
	}
	wantError(t, e.do("POST", "/tags", map[string]any{"name": "bulk", "users": []any{map[string]any{"id": missing}}}), http.StatusNotFound, "not_found", "User Not Found")
}

func TestConversationTags(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	c := e.createContact(map[string]any{"external_id": "u-1", "email": "u1@example.com"})
	convs, err := e.srv.SeedConversation(emulator.Conversation{Contacts: []emulator.ContactRef{{ID: c["id"].(string)}}})
	if err != nil {
		t.Fatal(err)
	}
	cv := "/conversations/" + convs[0].ID
	tag := e.ok("POST", "/tags", map[string]any{"name": "escalated"})
	tagID := tag["id"].(string)
	me := e.ok("GET", "/me", nil)
	admin := me["id"].(string)

	applied := e.ok("POST", cv+"/tags", map[string]any{"id": tagID, "admin_id": admin})
	if applied["id"] != tagID || applied["applied_by"].(map[string]any)["id"] != admin {
		t.Errorf("tag conversation = %v", applied)
	}
	got := e.ok("GET", cv, nil)
	tags := got["tags"].(map[string]any)["tags"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["id"] != tagID {
		t.Errorf("conversation tags = %v", tags)
	}

	// The untag DELETE needs a JSON body with admin_id.
	r := e.doOpt("DELETE", cv+"/tags/"+tagID, nil, reqOpt{skipCheck: true})
	wantError(t, r, http.StatusBadRequest, "parameter_not_found", "admin_id not specified")
	r = e.doOpt("DELETE", cv+"/tags/"+tagID, map[string]any{}, reqOpt{skipCheck: true})
	wantError(t, r, http.StatusBadRequest, "parameter_not_found", "admin_id not specified")
	r = e.do("DELETE", cv+"/tags/"+tagID, map[string]any{"admin_id": "12345"})
	wantError(t, r, http.StatusNotFound, "not_found", "")
	if n := len(e.srv.Snapshot().Conversations[0].TagIDs); n != 1 {
		t.Fatalf("rejected untag removed the tag (%d tags left)", n)
	}

	untagged := e.ok("DELETE", cv+"/tags/"+tagID, map[string]any{"admin_id": admin})
	if untagged["id"] != tagID {
		t.Errorf("untag = %v", untagged)
	}
	r = e.do("DELETE", cv+"/tags/"+tagID, map[string]any{"admin_id": admin})
	wantError(t, r, http.StatusNotFound, "tag_not_found", "Tag not found")
	r = e.do("DELETE", "/conversations/1/tags/"+tagID, map[string]any{"admin_id": admin})
	wantError(t, r, http.StatusNotFound, "not_found", "Conversation not found")
	r = e.do("POST", "/conversations/1/tags", map[string]any{"id": tagID, "admin_id": admin})
	wantError(t, r, http.StatusNotFound, "not_found", "Conversation not found")
	r = e.doOpt("POST", cv+"/tags", map[string]any{"id": tagID}, reqOpt{skipCheck: true})
	wantError(t, r, http.StatusBadRequest, "parameter_not_found", "admin_id not specified")
}
