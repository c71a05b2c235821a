package activities

import (
	"fmt"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// fieldDiff decides whether an entity costs a write: what Intercom
// returns must compare equal to what we would send whenever it means the
// same.
func TestFieldDiff(t *testing.T) {
	want := intercom.Fields{
		"role": "user", "external_id": "u1", "email": "Ada@Example.com", "name": nil, "signed_up_at": int64(1700000000),
		"custom_attributes": map[string]any{"environment": "prod", "status": "active"},
	}
	same := map[string]any{
		"id": "c1", "role": "user", "external_id": "u1", "email": "ada@example.com", "name": "", "signed_up_at": float64(1700000000),
		"phone":             "+1 555", // not ours to compare
		"custom_attributes": map[string]any{"environment": "prod", "status": "active", "member_number": "42"},
	}
	if d := fieldDiff(want, same); len(d) != 0 {
		t.Fatalf("diff of equal contacts = %v", d)
	}
	changed := map[string]any{
		"role": "lead", "external_id": "u1", "email": "other@example.com", "name": "Someone", "signed_up_at": nil,
		"custom_attributes": map[string]any{"status": "active"},
	}
	if got := fmt.Sprint(fieldDiff(want, changed)); got != "[custom_attributes.environment email name role signed_up_at]" {
		t.Fatalf("diff = %s", got)
	}
	if got := fmt.Sprint(fieldDiff(intercom.Fields{"company_id": "o1", "name": "Acme"}, nil)); got != "[company_id name]" {
		t.Fatalf("diff with nothing in Intercom = %s", got)
	}
}
