package activities

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// customAttributes lists every custom data attribute the service writes.
// Intercom rejects writes to custom attributes that do not exist, so each is
// created (once per process) before its first write.
var customAttributes = map[string][]attributeSpec{
	"contact": {
		{Name: "environment", DataType: "string", Description: "Deployment that synced this contact (ENVIRONMENT_NAME)"},
		{Name: "status", DataType: "string", Description: "invited (an invitation not yet accepted) or active (a user)"},
		// Written by the enrichment from the member database. member_number
		// is a string: member numbers are VARCHAR in the member database.
		{Name: "member_number", DataType: "string", Description: "Member number in the member database"},
		{Name: "member_type", DataType: "string", Description: "Member type, from status and membertypeid (MEMBER_TYPE_MAP)"},
		{Name: "region", DataType: "string", Description: "Member's region (RNAV for retired members)"},
		{Name: "facility", DataType: "string", Description: "Member's facility (RNAV for retired members)"},
		{Name: "positions", DataType: "string", Description: "Member's positions, comma-separated"},
		// false on a lead: its email was typed by a visitor, so the
		// member fields say who it claims to be, not who it is.
		{Name: "member_verified", DataType: "boolean", Description: "true: a user, whose email the member signed up with; false: a lead matched by a typed email (no phone written)"},
	},
	// The organization's creation time is not one of them: it goes to the
	// standard remote_created_at (company created_at is a standard,
	// read-only attribute: docs/intercom.md).
	"company": {
		{Name: "environment", DataType: "string", Description: "Deployment that synced this company (ENVIRONMENT_NAME)"},
	},
}

type attributeSpec struct {
	Name, DataType, Description string
}

// CustomAttribute is a custom data attribute the service writes.
type CustomAttribute struct {
	Model, Name, DataType string
}

// CustomAttributes lists every custom data attribute the service writes,
// by model (intercom-sync doctor checks that a workspace has or can make
// them).
func CustomAttributes() []CustomAttribute {
	var out []CustomAttribute
	for _, model := range []string{"contact", "company"} {
		for _, spec := range customAttributes[model] {
			out = append(out, CustomAttribute{Model: model, Name: spec.Name, DataType: spec.DataType})
		}
	}
	return out
}

// attributeGuard remembers which models' attributes this process has
// ensured, so the check costs Intercom calls once per model, not per sync,
// and which ones Intercom refused to create: those are left out of every
// write (a write naming an undefined attribute is refused whole).
type attributeGuard struct {
	mu      sync.Mutex
	done    map[string]bool
	refused map[string]bool // "model.name"
}

// writable is f without the custom attributes Intercom refused to create.
func (g *attributeGuard) writable(model string, f intercom.Fields) intercom.Fields {
	g.mu.Lock()
	defer g.mu.Unlock()
	custom, ok := f["custom_attributes"].(map[string]any)
	if !ok || len(g.refused) == 0 {
		return f
	}
	var kept map[string]any
	for name := range custom {
		if g.refused[model+"."+name] {
			kept = maps.Clone(custom)
			break
		}
	}
	if kept == nil {
		return f
	}
	for name := range kept {
		if g.refused[model+"."+name] {
			delete(kept, name)
		}
	}
	out := maps.Clone(f)
	out["custom_attributes"] = kept
	return out
}

// ensureAttributes creates the model's missing custom attributes. It lists
// first and creates only what is absent, so running it again changes
// nothing; a concurrent creator's "already exists" also counts as done.
func (a *Activities) ensureAttributes(ctx context.Context, model string) error {
	a.attrs.mu.Lock()
	defer a.attrs.mu.Unlock()
	if a.attrs.done[model] {
		return nil
	}
	existing, err := a.Intercom.ListDataAttributes(ctx, model)
	if err != nil {
		return fmt.Errorf("list %s data attributes: %w", model, err)
	}
	have := map[string]bool{}
	for _, attr := range existing {
		if isCustom(attr) {
			have[attr.Name] = true
		}
	}
	for _, spec := range customAttributes[model] {
		if have[spec.Name] {
			continue
		}
		err := a.Intercom.CreateDataAttribute(ctx, intercom.DataAttribute{
			Name: spec.Name, Model: model, DataType: spec.DataType,
		}, spec.Description)
		if refusedAttribute(err) {
			// "Already exists" (another worker made it a moment ago) and
			// "refused" (a standard attribute's name) can read alike:
			// only the list says which.
			if created, lerr := a.hasCustomAttribute(ctx, model, spec.Name); lerr != nil {
				return lerr
			} else if created {
				err = nil
			}
		}
		switch {
		case err == nil:
		case refusedAttribute(err):
			// Intercom will not have this attribute (a reserved name, a
			// plan limit): sync without it rather than fail every write.
			if a.attrs.refused == nil {
				a.attrs.refused = map[string]bool{}
			}
			a.attrs.refused[model+"."+spec.Name] = true
			a.Metrics.IntercomAttributesRefused.WithLabelValues(model, spec.Name).Inc()
			a.Log.WithFields(map[string]any{"model": model, "attribute": spec.Name}).
				Warnf("Intercom refused to create the %s attribute %s; syncing without it: %v", model, spec.Name, err)
		default:
			return fmt.Errorf("create %s data attribute %s: %w", model, spec.Name, err)
		}
	}
	if a.attrs.done == nil {
		a.attrs.done = map[string]bool{}
	}
	a.attrs.done[model] = true
	return nil
}

// hasCustomAttribute says whether the model has the custom attribute.
func (a *Activities) hasCustomAttribute(ctx context.Context, model, name string) (bool, error) {
	existing, err := a.Intercom.ListDataAttributes(ctx, model)
	if err != nil {
		return false, fmt.Errorf("list %s data attributes: %w", model, err)
	}
	for _, attr := range existing {
		if isCustom(attr) && attr.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func isCustom(attr intercom.DataAttribute) bool {
	return attr.Custom || strings.HasPrefix(attr.FullName, "custom_attributes.")
}

// withAttributes ensures the model's custom attributes, then runs write
// with f less the attributes Intercom refused to create. If Intercom
// answers that a custom attribute does not exist (it was archived or
// removed since this process checked), it forgets what it knew, ensures
// again and retries the write once.
func (a *Activities) withAttributes(ctx context.Context, model string, f intercom.Fields, write func(intercom.Fields) error) error {
	if err := a.ensureAttributes(ctx, model); err != nil {
		return err
	}
	err := write(a.attrs.writable(model, f))
	if !missingAttribute(err) {
		return err
	}
	a.attrs.mu.Lock()
	delete(a.attrs.done, model)
	a.attrs.mu.Unlock()
	if err := a.ensureAttributes(ctx, model); err != nil {
		return err
	}
	return write(a.attrs.writable(model, f))
}

// refusedAttribute: Intercom answered the creation of a data attribute
// with a client error other than "already exists" (a standard attribute's
// name, a bad name, too many attributes). Auth errors are not refusals:
// they fail every call.
func refusedAttribute(err error) bool {
	k, ok := intercom.KindOf(err)
	return ok && k == intercom.KindClient
}

// missingAttribute recognises Intercom's 400 for a write to an unknown
// custom attribute ("Custom attribute 'x' does not exist").
func missingAttribute(err error) bool {
	k, ok := intercom.KindOf(err)
	msg := ""
	if err != nil {
		msg = strings.ToLower(err.Error())
	}
	return ok && k == intercom.KindClient && strings.Contains(msg, "attribute") && strings.Contains(msg, "does not exist")
}
