package emulator_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestDataAttributes(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	// Built-in standard attributes are listed from the start.
	list := e.ok("GET", "/data_attributes?model=contact", nil)
	names := map[string]bool{}
	for _, d := range list["data"].([]any) {
		a := d.(map[string]any)
		if a["custom"] != false || a["model"] != "contact" {
			t.Errorf("unexpected attribute %v", a)
		}
		names[a["name"].(string)] = true
	}
	if !names["email"] || !names["external_id"] {
		t.Errorf("standard attributes missing: %v", names)
	}

	a := e.ok("POST", "/data_attributes", map[string]any{"name": "plan_tier", "model": "contact", "data_type": "string", "description": "Plan"})
	if a["full_name"] != "custom_attributes.plan_tier" || a["custom"] != true || a["api_writable"] != true || a["description"] != "Plan" {
		t.Errorf("created = %v", a)
	}
	if _, ok := a["id"].(float64); !ok {
		t.Errorf("custom attribute without numeric id: %v", a)
	}
	// datetime is reported as date, the only date type of the schema.
	d := e.ok("POST", "/data_attributes", map[string]any{"name": "renewal", "model": "company", "data_type": "datetime"})
	if d["data_type"] != "date" {
		t.Errorf("datetime attribute = %v", d)
	}

	// Duplicates, bad names and bad types.
	wantError(t, e.do("POST", "/data_attributes", map[string]any{"name": "plan_tier", "model": "contact", "data_type": "integer"}),
		http.StatusBadRequest, "parameter_invalid", "You already have 'plan_tier' in your people data. To save this as new people data, use a different name.")
	wantError(t, e.do("POST", "/data_attributes", map[string]any{"name": "renewal", "model": "company", "data_type": "date"}),
		http.StatusBadRequest, "parameter_invalid", "You already have 'renewal' in your company data. To save this as new company data, use a different name.")
	wantError(t, e.do("POST", "/data_attributes", map[string]any{"name": "email", "model": "contact", "data_type": "string"}),
		http.StatusBadRequest, "parameter_invalid", "")
	// The same name on the other model is fine.
	e.ok("POST", "/data_attributes", map[string]any{"name": "plan_tier", "model": "company", "data_type": "string"})
	wantError(t, e.do("POST", "/data_attributes", map[string]any{"name": "a.b", "model": "contact", "data_type": "string"}),
		http.StatusBadRequest, "parameter_invalid", "Your name for this attribute must only contain alphanumeric characters, currency symbols, and hyphens")
	wantError(t, e.doOpt("POST", "/data_attributes", map[string]any{"name": "x", "model": "contact", "data_type": "money"}, reqOpt{skipCheck: true}),
		http.StatusBadRequest, "parameter_invalid", "Data Type isn't an option")
	wantError(t, e.doOpt("POST", "/data_attributes", map[string]any{"name": "x", "model": "ticket", "data_type": "string"}, reqOpt{skipCheck: true}),
		http.StatusBadRequest, "parameter_invalid", "The Data Attribute model field must be either contact or company")

	custom := 0
	for _, d := range e.ok("GET", "/data_attributes?model=contact", nil)["data"].([]any) {
		if d.(map[string]any)["custom"] == true {
			custom++
		}
	}
	if custom != 1 {
		t.Errorf("custom contact attributes = %d, want 1", custom)
	}

	// Archive via PUT hides it from the default list.
	id := int(a["id"].(float64))
	up := e.ok("PUT", "/data_attributes/"+strconv.Itoa(id), map[string]any{"archived": true})
	if up["archived"] != true {
		t.Errorf("archive = %v", up)
	}
	for _, d := range e.ok("GET", "/data_attributes?model=contact", nil)["data"].([]any) {
		if d.(map[string]any)["name"] == "plan_tier" {
			t.Error("archived attribute listed without include_archived")
		}
	}
	if got := e.ok("GET", "/data_attributes?model=contact&include_archived=true", nil); len(got["data"].([]any)) != len(list["data"].([]any))+1 {
		t.Errorf("include_archived list = %d entries", len(got["data"].([]any)))
	}
	wantError(t, e.do("PUT", "/data_attributes/99999", map[string]any{"archived": true}),
		http.StatusNotFound, "field_not_found", "We couldn't find that data attribute to update")
}

func TestUnknownCustomAttributesAreRejected(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.do("POST", "/contacts", map[string]any{"external_id": "u-1", "custom_attributes": map[string]any{"plan": "pro"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "Custom attribute 'plan' does not exist")
	if n := len(e.srv.Snapshot().Contacts); n != 0 {
		t.Fatalf("rejected create stored %d contacts", n)
	}
	c := e.createContact(map[string]any{"external_id": "u-1"})
	r = e.do("PUT", "/contacts/"+c["id"].(string), map[string]any{"custom_attributes": map[string]any{"plan": "pro"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "Custom attribute 'plan' does not exist")
	// A company attribute does not make a contact attribute.
	e.defineAttrs("company", "plan", "string")
	r = e.do("PUT", "/contacts/"+c["id"].(string), map[string]any{"custom_attributes": map[string]any{"plan": "pro"}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "Custom attribute 'plan' does not exist")

	// Once defined, the write goes through.
	e.defineAttrs("contact", "plan", "string")
	u := e.ok("PUT", "/contacts/"+c["id"].(string), map[string]any{"custom_attributes": map[string]any{"plan": "pro"}})
	if u["custom_attributes"].(map[string]any)["plan"] != "pro" {
		t.Errorf("update = %v", u)
	}
	// Attributes defined out of band (as in the Intercom UI) count too.
	if _, err := e.srv.AddDataAttribute(emulator.DataAttribute{Model: "contact", Name: "region", DataType: "string"}); err != nil {
		t.Fatal(err)
	}
	e.ok("PUT", "/contacts/"+c["id"].(string), map[string]any{"custom_attributes": map[string]any{"region": "EU"}})
}

func TestStandardAttributeNames(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	for _, c := range []struct{ model, name string }{{"company", "created_at"}, {"company", "website"}, {"contact", "email"}, {"contact", "updated_at"}} {
		r := e.do("POST", "/data_attributes", map[string]any{"name": c.name, "model": c.model, "data_type": "string"})
		wantError(t, r, http.StatusBadRequest, "parameter_invalid", "")
		if msg := errMessage(t, r); !strings.HasPrefix(msg, "You already have '"+c.name+"'") {
			t.Errorf("%s.%s: message %q", c.model, c.name, msg)
		}
	}
	if _, err := e.srv.AddDataAttribute(emulator.DataAttribute{Model: "company", Name: "created_at", DataType: "date"}); err == nil {
		t.Error("AddDataAttribute accepted a standard name")
	}
	// Never defined as custom, so a write naming it is refused.
	r := e.do("POST", "/companies", map[string]any{"company_id": "c-1", "custom_attributes": map[string]any{"created_at": 1}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "Custom attribute 'created_at' does not exist")
	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1"})
	r = e.do("PUT", "/companies/"+co["id"].(string), map[string]any{"custom_attributes": map[string]any{"created_at": 1}})
	wantError(t, r, http.StatusBadRequest, "parameter_invalid", "Custom attribute 'created_at' does not exist")

	l := newEnv(t, emulator.Options{Loose: emulator.Loose{AnyAttributeName: true}})
	a := l.ok("POST", "/data_attributes", map[string]any{"name": "created_at", "model": "company", "data_type": "date"})
	if a["custom"] != true || a["full_name"] != "custom_attributes.created_at" {
		t.Errorf("loose: attribute = %v", a)
	}
	l.ok("POST", "/companies", map[string]any{"company_id": "c-1", "custom_attributes": map[string]any{"created_at": 1}})
	// A taken custom name is still refused.
	wantError(t, l.do("POST", "/data_attributes", map[string]any{"name": "created_at", "model": "company", "data_type": "date"}),
		http.StatusBadRequest, "parameter_invalid", "")
	// Undefined attributes are refused even when loose.
	wantError(t, l.do("POST", "/contacts", map[string]any{"external_id": "u-1", "custom_attributes": map[string]any{"nope": 1}}),
		http.StatusBadRequest, "parameter_invalid", "Custom attribute 'nope' does not exist")
}
