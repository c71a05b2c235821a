package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/intercom-sync/intercom-sync/activities"
)

// Attribute is a custom data attribute the service writes.
type Attribute struct {
	Model    string // contact or company
	Name     string
	DataType string
}

// ServiceAttributes are the custom attributes the service writes, by model
// and type: the activities' own list.
var ServiceAttributes = func() []Attribute {
	var out []Attribute
	for _, a := range activities.CustomAttributes() {
		out = append(out, Attribute{Model: a.Model, Name: a.Name, DataType: a.DataType})
	}
	return out
}()

// documentedStandard are standard attribute names Intercom documents (the
// 2.11 description's data attribute examples, and the contact fields of
// its contact schema). A workspace lists its standard attributes itself,
// and that list decides; these only explain a name the workspace at hand
// does not list (an emulator, say) but a real workspace would.
var documentedStandard = map[string][]string{
	"contact": {"id", "external_id", "email", "phone", "name", "role", "owner_id", "avatar", "signed_up_at",
		"last_seen_at", "created_at", "updated_at", "unsubscribed_from_emails"},
	"company": {"id", "app_id", "company_id", "name", "created_at", "updated_at", "remote_created_at",
		"last_request_at", "user_count", "session_count", "monthly_spend", "size", "website", "industry"},
}

// listedAttribute is a data attribute as GET /data_attributes lists it.
type listedAttribute struct {
	Name        string `json:"name"`
	FullName    string `json:"full_name"`
	DataType    string `json:"data_type"`
	Custom      bool   `json:"custom"`
	Archived    bool   `json:"archived"`
	APIWritable *bool  `json:"api_writable"`
}

// listAttributes is GET /data_attributes?model=…&include_archived=true.
// The client's ListDataAttributes leaves archived attributes out, and an
// archived attribute is exactly what breaks the service's writes.
func (d *doctor) listAttributes(ctx context.Context, model string) ([]listedAttribute, error) {
	ans, err := d.raw.get(ctx, "/data_attributes?model="+url.QueryEscape(model)+"&include_archived=true")
	if err != nil {
		return nil, err
	}
	if ans.status != http.StatusOK {
		return nil, fmt.Errorf("GET /data_attributes?model=%s answered %s", model, ans.describe())
	}
	var out struct {
		Data []listedAttribute `json:"data"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil {
		return nil, fmt.Errorf("GET /data_attributes?model=%s: %w", model, err)
	}
	return out.Data, nil
}

func (d *doctor) checkAttributes(ctx context.Context) {
	lists := map[string][]listedAttribute{}
	errs := map[string]error{}
	for _, a := range d.opts.Attributes {
		id := "attribute." + a.Model + "." + a.Name
		assumption := fmt.Sprintf("custom %s.%s (%s)", a.Model, a.Name, a.DataType)
		service := "creates it if missing, before writing it"
		if d.me == nil {
			d.skip(id, assumption, service, "the token does not work")
			continue
		}
		if _, done := lists[a.Model]; !done && errs[a.Model] == nil {
			lists[a.Model], errs[a.Model] = d.listAttributes(ctx, a.Model)
		}
		c := judgeAttribute(a, lists[a.Model], errs[a.Model])
		c.ID, c.Assumption, c.Service = id, assumption, service
		d.report.add(c)
	}
}

// judgeAttribute decides one attribute from the model's list.
func judgeAttribute(a Attribute, listed []listedAttribute, listErr error) Check {
	if listErr != nil {
		return Check{Status: Warn, Observed: "could not list: " + listErr.Error(), Fix: "run doctor again"}
	}
	data := "people"
	if a.Model == "company" {
		data = "company"
	}
	settings := fmt.Sprintf("Intercom settings, Data, %s data", data)
	for _, l := range listed {
		if !l.Custom || l.Name != a.Name {
			continue
		}
		c := Check{Data: map[string]any{"present": true, "data_type": l.DataType, "archived": l.Archived}}
		switch {
		case l.Archived:
			c.Status = Fail
			c.Observed = "present but archived"
			c.Fix = fmt.Sprintf("unarchive custom attribute %s (%s); the service cannot create it while the archived one holds the name", a.Name, settings)
		case l.DataType != a.DataType:
			c.Status = Fail
			c.Observed = fmt.Sprintf("present with type %s; the service writes %s", l.DataType, a.DataType)
			c.Fix = fmt.Sprintf("Intercom cannot change a type: rename or delete %s (%s) so the service can create it as %s", a.Name, settings, a.DataType)
		case l.APIWritable != nil && !*l.APIWritable:
			c.Status = Fail
			c.Observed = "present but not writable through the API"
			c.Fix = fmt.Sprintf("make %s writable by the API (%s)", a.Name, settings)
		default:
			c.Status, c.Observed = Pass, "present, "+l.DataType
		}
		return c
	}
	for _, l := range listed {
		if !strings.EqualFold(l.Name, a.Name) {
			continue
		}
		c := Check{Status: Fail, Data: map[string]any{"present": false, "creatable": false}}
		if l.Custom {
			c.Observed = fmt.Sprintf("absent; custom attribute %q differs only in case, so Intercom refuses the name", l.Name)
			c.Fix = fmt.Sprintf("rename custom attribute %q to %s (%s)", l.Name, a.Name, settings)
			return c
		}
		full := l.FullName
		if full == "" {
			full = l.Name
		}
		c.Observed = fmt.Sprintf("absent and not creatable: %s is a standard %s attribute (%s)", a.Name, a.Model, full)
		c.Fix = fmt.Sprintf("no setting: the service must write this value elsewhere (e.g. a standard field or another custom name); "+
			"every %s write with custom_attributes.%s is refused", a.Model, a.Name)
		if a.Model == "company" && a.Name == "created_at" {
			c.Fix = "no setting: the service must write the organization's creation time to the standard remote_created_at; " +
				"every company write with custom_attributes.created_at is refused"
		}
		return c
	}
	for _, n := range documentedStandard[a.Model] {
		if strings.EqualFold(n, a.Name) {
			return Check{Status: Warn, Data: map[string]any{"present": false, "creatable": true},
				Observed: fmt.Sprintf("absent, creatable here; but Intercom documents %s as a standard %s attribute: "+
					"a real workspace refuses it", a.Name, a.Model),
				Fix: fmt.Sprintf("check against a real Intercom workspace; the service may need to write %s elsewhere", a.Name)}
		}
	}
	return Check{Status: Pass, Observed: "absent, creatable",
		Data: map[string]any{"present": false, "creatable": true}}
}
