package activities

import (
	"context"
	"fmt"
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
	},
	"company": {
		{Name: "created_at", DataType: "date", Description: "When the organization was created in the app"},
		{Name: "environment", DataType: "string", Description: "Deployment that synced this company (ENVIRONMENT_NAME)"},
	},
}

type attributeSpec struct {
	Name, DataType, Description string
}

// attributeGuard remembers which models' attributes this process has
// ensured, so the check costs Intercom calls once per model, not per sync.
type attributeGuard struct {
	mu   sync.Mutex
	done map[string]bool
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
		if attr.Custom || strings.HasPrefix(attr.FullName, "custom_attributes.") {
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
		if err != nil && !alreadyExists(err) {
			return fmt.Errorf("create %s data attribute %s: %w", model, spec.Name, err)
		}
	}
	if a.attrs.done == nil {
		a.attrs.done = map[string]bool{}
	}
	a.attrs.done[model] = true
	return nil
}

// alreadyExists recognises Intercom's answer to creating an attribute that
// another worker created a moment ago ("You already have 'x' in your data").
func alreadyExists(err error) bool {
	k, ok := intercom.KindOf(err)
	return ok && k == intercom.KindClient && strings.Contains(strings.ToLower(err.Error()), "already")
}

// withAttributes ensures the model's custom attributes, then runs write.
// If Intercom answers that a custom attribute does not exist (it was
// archived or removed since this process checked), it forgets what it
// knew, ensures again and retries the write once.
func (a *Activities) withAttributes(ctx context.Context, model string, write func() error) error {
	if err := a.ensureAttributes(ctx, model); err != nil {
		return err
	}
	err := write()
	if !missingAttribute(err) {
		return err
	}
	a.attrs.mu.Lock()
	delete(a.attrs.done, model)
	a.attrs.mu.Unlock()
	if err := a.ensureAttributes(ctx, model); err != nil {
		return err
	}
	return write()
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
