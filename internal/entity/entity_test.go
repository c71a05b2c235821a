package entity

import "testing"

// The spellings are stored (sync_state rows, search attributes, workflow
// state): changing one orphans what was written with the old one.
func TestSpellingsAreStable(t *testing.T) {
	for _, c := range []struct {
		kind                        Kind
		json, record, search, phase string
	}{
		{User, "user", "contact", "user", "users"},
		{Organization, "organization", "company", "org", "organizations"},
		{Invitation, "invitation", "invitation", "invitation", "invitations"},
	} {
		if string(c.kind) != c.json || c.kind.Record() != c.record || c.kind.SearchValue() != c.search || c.kind.Plural() != c.phase {
			t.Errorf("%s: json %q record %q search %q phase %q", c.kind, c.kind, c.kind.Record(), c.kind.SearchValue(), c.kind.Plural())
		}
		if k, err := FromPlural(c.phase); err != nil || k != c.kind {
			t.Errorf("FromPlural(%q) = %q, %v", c.phase, k, err)
		}
	}
	if _, err := FromPlural("orgs"); err == nil {
		t.Error("FromPlural accepted an unknown phase")
	}
}
