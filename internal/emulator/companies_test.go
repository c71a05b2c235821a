package emulator_test

import (
	"net/http"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestCompanyUpsertAndLookup(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.defineAttrs("company", "tier", "string", "seats", "integer")
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1", "name": "Acme", "plan": "pro",
		"monthly_spend": 99, "custom_attributes": map[string]any{"tier": "gold"}})
	id := co["id"].(string)
	if !hexID.MatchString(id) || co["company_id"] != "c-1" || co["user_count"] != float64(0) {
		t.Errorf("company = %v", co)
	}
	if plan := co["plan"].(map[string]any); plan["name"] != "pro" || plan["type"] != "plan" {
		t.Errorf("plan = %v", plan)
	}
	// Same company_id updates the same company; attributes merge.
	co2 := e.ok("POST", "/companies", map[string]any{"company_id": "c-1", "industry": "Retail",
		"custom_attributes": map[string]any{"seats": 12}})
	if co2["id"] != id || co2["name"] != "Acme" || co2["industry"] != "Retail" {
		t.Errorf("upsert = %v", co2)
	}
	ca := co2["custom_attributes"].(map[string]any)
	if ca["tier"] != "gold" || ca["seats"] != float64(12) {
		t.Errorf("custom_attributes = %v", ca)
	}
	if n := len(e.srv.Snapshot().Companies); n != 1 {
		t.Errorf("companies = %d, want 1", n)
	}

	// GET /companies?company_id= returns one company object.
	got := e.ok("GET", "/companies?company_id=c-1", nil)
	if got["id"] != id || got["type"] != "company" {
		t.Errorf("by company_id = %v", got)
	}
	wantError(t, e.do("GET", "/companies?company_id=nope", nil), http.StatusNotFound, "company_not_found", "Company Not Found")
	if got := e.ok("GET", "/companies?name=Acme", nil); got["id"] != id {
		t.Errorf("by name = %v", got)
	}
	if got := e.ok("GET", "/companies/"+id, nil); got["company_id"] != "c-1" {
		t.Errorf("by id = %v", got)
	}
	wantError(t, e.do("GET", "/companies/0123456789abcdef01234567", nil), http.StatusNotFound, "company_not_found", "Company Not Found")

	// PUT by Intercom id.
	up := e.ok("PUT", "/companies/"+id, map[string]any{"name": "Acme Inc", "size": 40})
	if up["name"] != "Acme Inc" || up["size"] != float64(40) || up["plan"].(map[string]any)["name"] != "pro" {
		t.Errorf("update = %v", up)
	}
	wantError(t, e.do("PUT", "/companies/"+id, map[string]any{"company_id": "other"}), http.StatusBadRequest, "parameter_invalid", "")
	wantError(t, e.do("PUT", "/companies/0123456789abcdef01234567", map[string]any{"name": "x"}), http.StatusNotFound, "company_not_found", "Company Not Found")

	// Unknown parameters and attributes are rejected like Intercom does.
	r := e.doOpt("POST", "/companies", map[string]any{"company_id": "c-2", "test": 1}, reqOpt{})
	wantError(t, r, http.StatusBadRequest, "bad_request", "bad 'test' parameter")
	r = e.do("POST", "/companies", map[string]any{"company_id": "c-2", "custom_attributes": map[string]any{"undefined": "x"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "Custom attribute 'undefined' does not exist")
	if n := len(e.srv.Snapshot().Companies); n != 1 {
		t.Errorf("rejected create stored a company: %d", n)
	}
}

func TestCompanyList(t *testing.T) {
	e := newEnv(t, emulator.Options{Loose: emulator.Loose{ListsEveryCompany: true}})
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		e.ok("POST", "/companies", map[string]any{"company_id": id, "name": "Co " + id})
	}
	list := e.ok("GET", "/companies?per_page=2&page=3", nil)
	if list["total_count"] != float64(5) || len(list["data"].([]any)) != 1 {
		t.Errorf("page 3 = %v", list)
	}
	pages := list["pages"].(map[string]any)
	if pages["page"] != float64(3) || pages["total_pages"] != float64(3) {
		t.Errorf("pages = %v", pages)
	}
	all := e.ok("GET", "/companies", nil)
	if len(all["data"].([]any)) != 5 {
		t.Errorf("list = %v", all)
	}
}

func TestAttachDetachAndDeleteCompany(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1", "name": "Acme"})
	coID := co["id"].(string)
	a := e.createContact(map[string]any{"external_id": "a"})["id"].(string)
	b := e.createContact(map[string]any{"external_id": "b"})["id"].(string)

	got := e.ok("POST", "/contacts/"+a+"/companies", map[string]any{"id": coID})
	if got["id"] != coID || got["user_count"] != float64(1) {
		t.Errorf("attach = %v", got)
	}
	// Attaching twice is a no-op success.
	if got := e.ok("POST", "/contacts/"+a+"/companies", map[string]any{"id": coID}); got["user_count"] != float64(1) {
		t.Errorf("attach twice: user_count = %v", got["user_count"])
	}
	e.ok("POST", "/contacts/"+b+"/companies", map[string]any{"id": coID})
	if got := e.ok("GET", "/companies/"+coID, nil); got["user_count"] != float64(2) {
		t.Errorf("user_count = %v", got["user_count"])
	}
	contact := e.ok("GET", "/contacts/"+a, nil)
	refs := contact["companies"].(map[string]any)
	if refs["total_count"] != float64(1) || ids(refs)[0] != coID || refs["data"].([]any)[0].(map[string]any)["url"] != "/companies/"+coID {
		t.Errorf("contact companies = %v", refs)
	}
	listed := e.ok("GET", "/contacts/"+a+"/companies", nil)
	if listed["total_count"] != float64(1) {
		t.Errorf("contact companies list = %v", listed)
	}

	missing := "0123456789abcdef01234567"
	wantError(t, e.do("POST", "/contacts/"+missing+"/companies", map[string]any{"id": coID}), http.StatusNotFound, "not_found", "User Not Found")
	wantError(t, e.do("POST", "/contacts/"+a+"/companies", map[string]any{"id": missing}), http.StatusNotFound, "company_not_found", "Company Not Found")
	wantError(t, e.doOpt("POST", "/contacts/"+a+"/companies", map[string]any{}, reqOpt{skipCheck: true}), http.StatusBadRequest, "parameter_not_found", "company not specified")

	// Detach.
	got = e.ok("DELETE", "/contacts/"+a+"/companies/"+coID, nil)
	if got["user_count"] != float64(1) {
		t.Errorf("detach: user_count = %v", got["user_count"])
	}
	// Detaching a company that is not attached succeeds (idempotent).
	e.ok("DELETE", "/contacts/"+a+"/companies/"+coID, nil)
	wantError(t, e.do("DELETE", "/contacts/"+a+"/companies/"+missing, nil), http.StatusNotFound, "company_not_found", "Company Not Found")
	wantError(t, e.do("DELETE", "/contacts/"+missing+"/companies/"+coID, nil), http.StatusNotFound, "not_found", "User Not Found")

	// Deleting the company detaches its remaining contacts.
	del := e.ok("DELETE", "/companies/"+coID, nil)
	if del["id"] != coID || del["object"] != "company" || del["deleted"] != true {
		t.Errorf("delete = %v", del)
	}
	if refs := e.ok("GET", "/contacts/"+b, nil)["companies"].(map[string]any); refs["total_count"] != float64(0) {
		t.Errorf("contact still attached after company delete: %v", refs)
	}
	wantError(t, e.do("DELETE", "/companies/"+coID, nil), http.StatusNotFound, "company_not_found", "Company Not Found")
	wantError(t, e.do("GET", "/companies?company_id=c-1", nil), http.StatusNotFound, "company_not_found", "Company Not Found")
	// Its company_id can be used again.
	if again := e.ok("POST", "/companies", map[string]any{"company_id": "c-1"}); again["id"] == coID {
		t.Error("deleted company came back")
	}
	snap := e.srv.Snapshot()
	for _, c := range snap.Contacts {
		if len(c.CompanyIDs) != 0 {
			t.Errorf("contact %s still has companies %v", c.ID, c.CompanyIDs)
		}
	}
}

func TestDeleteContactDetachesFromCompany(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1"})
	a := e.createContact(map[string]any{"external_id": "a"})["id"].(string)
	e.ok("POST", "/contacts/"+a+"/companies", map[string]any{"id": co["id"]})
	e.ok("DELETE", "/contacts/"+a, nil)
	if got := e.ok("GET", "/companies/"+co["id"].(string), nil); got["user_count"] != float64(0) {
		t.Errorf("user_count = %v after contact delete", got["user_count"])
	}
	snap := e.srv.Snapshot()
	if len(snap.Companies[0].ContactIDs) != 0 || snap.Companies[0].UserCount != 0 {
		t.Errorf("snapshot company = %+v", snap.Companies[0])
	}
}
