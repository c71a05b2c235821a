package emulator_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

var hexID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestMe(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	me := e.ok("GET", "/me", nil)
	if me["id"] != emulator.AdminID || me["type"] != "admin" {
		t.Errorf("me = %v", me)
	}
	app := me["app"].(map[string]any)
	if app["id_code"] != emulator.WorkspaceID {
		t.Errorf("app = %v", app)
	}
}

func TestCreateContactDefaultsAndShape(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.defineAttrs("contact", "plan", "string", "seats", "integer")
	c := e.createContact(map[string]any{
		"external_id": "u-1", "email": "Joe@Example.com", "name": "Joe",
		"custom_attributes": map[string]any{"plan": "pro", "seats": 3},
	})
	if !hexID.MatchString(c["id"].(string)) {
		t.Errorf("id %v is not 24 hex", c["id"])
	}
	if c["role"] != "user" {
		t.Errorf("role defaults to %v, want user", c["role"])
	}
	if c["phone"] != nil || c["avatar"] != nil || c["signed_up_at"] != nil {
		t.Errorf("unset nullable fields must be null: phone=%v avatar=%v", c["phone"], c["avatar"])
	}
	ca := c["custom_attributes"].(map[string]any)
	if ca["plan"] != "pro" || ca["seats"] != float64(3) {
		t.Errorf("custom_attributes = %v", ca)
	}
	companies := c["companies"].(map[string]any)
	if companies["url"] != "/contacts/"+c["id"].(string)+"/companies" || companies["total_count"] != float64(0) {
		t.Errorf("companies = %v", companies)
	}

	got := e.ok("GET", "/contacts/"+c["id"].(string), nil)
	if got["email"] != "Joe@Example.com" || got["external_id"] != "u-1" {
		t.Errorf("get = %v", got)
	}
	// Leads need no identifier.
	lead := e.createContact(map[string]any{"role": "lead", "name": "anon"})
	if lead["role"] != "lead" || lead["external_id"] != nil {
		t.Errorf("lead = %v", lead)
	}
	// A user needs external_id or email.
	r := e.do("POST", "/contacts", map[string]any{"role": "user", "name": "nobody"})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
	r = e.do("POST", "/contacts", map[string]any{"role": "visitor", "email": "v@example.com"})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
}

func TestCreateContactConflicts(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	user := e.createContact(map[string]any{"external_id": "u-1", "email": "joe@example.com"})
	id := user["id"].(string)

	// Same external_id.
	r := e.do("POST", "/contacts", map[string]any{"external_id": "u-1"})
	wantError(t, r, http.StatusConflict, "conflict", "A contact matching those details already exists with id="+id)
	// Same email on a user, compared case-insensitively.
	r = e.do("POST", "/contacts", map[string]any{"role": "user", "email": "JOE@example.com", "external_id": "u-2"})
	wantError(t, r, http.StatusConflict, "conflict", "A contact matching those details already exists with id="+id)
	// The id can be recovered from the message, as clients must do.
	if m := regexp.MustCompile(`id=([0-9a-f]{24})`).FindStringSubmatch(errMessage(t, r)); m == nil || m[1] != id {
		t.Errorf("id not recoverable from %q", errMessage(t, r))
	}
	// Leads may share an email with a user and with each other.
	l1 := e.createContact(map[string]any{"role": "lead", "email": "joe@example.com"})
	l2 := e.createContact(map[string]any{"role": "lead", "email": "joe@example.com"})
	if l1["id"] == l2["id"] {
		t.Error("two leads got the same id")
	}

	// Archived duplicates get their own message.
	e.ok("POST", "/contacts/"+id+"/archive", nil)
	r = e.do("POST", "/contacts", map[string]any{"external_id": "u-1"})
	wantError(t, r, http.StatusConflict, "conflict", "An archived contact matching those details already exists with id="+id)
	r = e.do("POST", "/contacts", map[string]any{"email": "joe@example.com"})
	wantError(t, r, http.StatusConflict, "conflict", "An archived contact matching those details already exists with id="+id)

	// After deletion the identity is free again (an archived contact must
	// be unarchived before it can be deleted).
	e.ok("POST", "/contacts/"+id+"/unarchive", nil)
	e.ok("DELETE", "/contacts/"+id, nil)
	again := e.createContact(map[string]any{"external_id": "u-1", "email": "joe@example.com"})
	if again["id"] == id {
		t.Error("deleted id reused")
	}
	if n := len(e.srv.Snapshot().Contacts); n != 3 {
		t.Errorf("contacts = %d, want 3 (two leads, one user)", n)
	}
}

func TestUpdateContact(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.defineAttrs("contact", "plan", "string", "seats", "integer", "vip", "boolean")
	c := e.createContact(map[string]any{"external_id": "u-1", "email": "a@example.com", "name": "A",
		"custom_attributes": map[string]any{"plan": "free", "seats": 1}})
	id := c["id"].(string)
	other := e.createContact(map[string]any{"external_id": "u-2", "email": "b@example.com"})

	// Partial update: absent fields keep their value, attributes merge key
	// by key and null clears one.
	u := e.ok("PUT", "/contacts/"+id, map[string]any{"phone": "+4930123",
		"custom_attributes": map[string]any{"seats": nil, "vip": true}})
	if u["name"] != "A" || u["email"] != "a@example.com" || u["phone"] != "+4930123" {
		t.Errorf("update = %v", u)
	}
	ca := u["custom_attributes"].(map[string]any)
	if ca["plan"] != "free" || ca["vip"] != true || ca["seats"] != nil {
		t.Errorf("custom_attributes = %v", ca)
	}
	if _, present := ca["seats"]; present {
		t.Error("null did not clear seats")
	}
	// null clears a nullable field.
	u = e.ok("PUT", "/contacts/"+id, map[string]any{"name": nil})
	if u["name"] != nil {
		t.Errorf("name = %v, want null", u["name"])
	}
	// Taking another user's external_id or email is a conflict, and the
	// contact stays unchanged.
	r := e.do("PUT", "/contacts/"+id, map[string]any{"external_id": "u-2"})
	wantError(t, r, http.StatusConflict, "conflict", "A contact matching those details already exists with id="+other["id"].(string))
	r = e.do("PUT", "/contacts/"+id, map[string]any{"email": "B@example.com", "name": "changed"})
	wantError(t, r, http.StatusConflict, "conflict", "")
	got := e.ok("GET", "/contacts/"+id, nil)
	if got["external_id"] != "u-1" || got["email"] != "a@example.com" || got["name"] != nil {
		t.Errorf("rejected update changed the contact: %v", got)
	}
	// Re-sending its own identity is fine.
	e.ok("PUT", "/contacts/"+id, map[string]any{"external_id": "u-1", "email": "A@example.com"})
	// Unknown contact.
	r = e.do("PUT", "/contacts/0123456789abcdef01234567", map[string]any{"name": "x"})
	wantError(t, r, http.StatusNotFound, "not_found", "User Not Found")
	// owner_id must be a workspace admin.
	r = e.do("PUT", "/contacts/"+id, map[string]any{"owner_id": 42})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "The owner specified is not a member of the workspace")
	u = e.ok("PUT", "/contacts/"+id, map[string]any{"owner_id": 991267})
	if u["owner_id"] != float64(991267) {
		t.Errorf("owner_id = %v", u["owner_id"])
	}
}

func TestContactNotFoundDeleteArchive(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	missing := "/contacts/0123456789abcdef01234567"
	wantError(t, e.do("GET", missing, nil), http.StatusNotFound, "not_found", "User Not Found")
	wantError(t, e.do("DELETE", missing, nil), http.StatusNotFound, "not_found", "User Not Found")
	wantError(t, e.do("POST", missing+"/archive", nil), http.StatusNotFound, "not_found", "User Not Found")

	c := e.createContact(map[string]any{"external_id": "u-1"})
	id := c["id"].(string)
	a := e.ok("POST", "/contacts/"+id+"/archive", nil)
	if a["archived"] != true || a["type"] != "contact" || a["external_id"] != "u-1" {
		t.Errorf("archive = %v", a)
	}
	// Archived contacts are neither readable by id nor listed.
	wantError(t, e.do("GET", "/contacts/"+id, nil), http.StatusNotFound, "not_found", "User Not Found")
	if list := e.ok("GET", "/contacts", nil); len(ids(list)) != 0 {
		t.Errorf("archived contact listed: %v", ids(list))
	}
	u := e.ok("POST", "/contacts/"+id+"/unarchive", nil)
	if u["archived"] != false {
		t.Errorf("unarchive = %v", u)
	}
	d := e.ok("DELETE", "/contacts/"+id, nil)
	if d["deleted"] != true || d["id"] != id || d["external_id"] != "u-1" {
		t.Errorf("delete = %v", d)
	}
	wantError(t, e.do("GET", "/contacts/"+id, nil), http.StatusNotFound, "not_found", "User Not Found")
	wantError(t, e.do("DELETE", "/contacts/"+id, nil), http.StatusNotFound, "not_found", "User Not Found")
}

func TestMergeLeadIntoUser(t *testing.T) {
	e := newEnv(t, emulator.Options{Loose: emulator.Loose{NoSearchLag: true}})
	e.defineAttrs("contact", "source", "string", "plan", "string")
	user := e.createContact(map[string]any{"external_id": "u-1", "custom_attributes": map[string]any{"plan": "pro"}})
	lead := e.createContact(map[string]any{"role": "lead", "email": "lead@example.com", "name": "Lee",
		"custom_attributes": map[string]any{"source": "chat", "plan": "free"}})
	uid, lid := user["id"].(string), lead["id"].(string)
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1", "name": "Acme"})
	e.ok("POST", "/contacts/"+lid+"/companies", map[string]any{"id": co["id"]})
	tag := e.ok("POST", "/tags", map[string]any{"name": "vip"})
	e.ok("POST", "/contacts/"+lid+"/tags", map[string]any{"id": tag["id"]})
	conv, err := e.srv.SeedConversation(emulator.Conversation{Contacts: []emulator.ContactRef{{ID: lid}}})
	if err != nil {
		t.Fatal(err)
	}

	// Wrong directions are rejected.
	wantError(t, e.do("POST", "/contacts/merge", map[string]any{"from": uid, "into": lid}), http.StatusBadRequest, "parameter_invalid", "")
	wantError(t, e.do("POST", "/contacts/merge", map[string]any{"from": "0123456789abcdef01234567", "into": uid}), http.StatusNotFound, "not_found", "User Not Found")

	merged := e.ok("POST", "/contacts/merge", map[string]any{"from": lid, "into": uid})
	if merged["id"] != uid || merged["email"] != "lead@example.com" || merged["name"] != "Lee" {
		t.Errorf("merged = %v", merged)
	}
	ca := merged["custom_attributes"].(map[string]any)
	if ca["plan"] != "pro" || ca["source"] != "chat" {
		t.Errorf("user keeps its values and gains the lead's missing ones: %v", ca)
	}
	if got := ids(merged["companies"].(map[string]any)); len(got) != 1 || got[0] != co["id"] {
		t.Errorf("companies moved: %v", got)
	}
	if got := ids(merged["tags"].(map[string]any)); len(got) != 1 || got[0] != tag["id"] {
		t.Errorf("tags moved: %v", got)
	}
	wantError(t, e.do("GET", "/contacts/"+lid, nil), http.StatusNotFound, "not_found", "User Not Found")
	res := e.search(map[string]any{"field": "email", "operator": "=", "value": "lead@example.com"}, nil)
	if got := ids(res); len(got) != 1 || got[0] != uid {
		t.Errorf("search after merge = %v, want only the user", got)
	}
	company := e.ok("GET", "/companies/"+co["id"].(string), nil)
	if company["user_count"] != float64(1) {
		t.Errorf("user_count = %v", company["user_count"])
	}
	cv := e.ok("GET", "/conversations/"+conv[0].ID, nil)
	refs := cv["contacts"].(map[string]any)["contacts"].([]any)
	if refs[0].(map[string]any)["id"] != uid {
		t.Errorf("conversation still points at the lead: %v", refs)
	}
	snap := e.srv.Snapshot()
	for _, c := range snap.Contacts {
		if c.ID == lid && c.MergedInto != uid {
			t.Errorf("lead MergedInto = %q", c.MergedInto)
		}
	}
}

func TestListContactsPagination(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	var want []string
	for i := range 7 {
		c := e.createContact(map[string]any{"external_id": "u-" + string(rune('a'+i))})
		want = append(want, c["id"].(string))
	}
	var got []string
	cursor := ""
	for page := 1; ; page++ {
		path := "/contacts?per_page=3"
		if cursor != "" {
			path += "&starting_after=" + cursor
		}
		list := e.ok("GET", path, nil)
		if list["total_count"] != float64(7) {
			t.Fatalf("total_count = %v", list["total_count"])
		}
		pages := list["pages"].(map[string]any)
		if pages["page"] != float64(page) || pages["total_pages"] != float64(3) {
			t.Errorf("pages = %v", pages)
		}
		got = append(got, ids(list)...)
		next, ok := pages["next"].(map[string]any)
		if !ok {
			break
		}
		cursor = next["starting_after"].(string)
	}
	if len(got) != 7 || !sameSet(got, want) {
		t.Errorf("paged ids = %v, want %v", got, want)
	}
}
