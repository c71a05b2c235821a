package emulator_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestEmbeddedListsCappedAt10(t *testing.T) {
	for _, loose := range []bool{false, true} {
		e := newEnv(t, emulator.Options{Loose: emulator.Loose{FullEmbeddedLists: loose}})
		id := e.createContact(map[string]any{"external_id": "u-1"})["id"].(string)
		var cos, tags []string
		for i := range 12 {
			co := e.ok("POST", "/companies", map[string]any{"company_id": fmt.Sprintf("c-%d", i)})["id"].(string)
			e.ok("POST", "/contacts/"+id+"/companies", map[string]any{"id": co})
			tag := e.ok("POST", "/tags", map[string]any{"name": fmt.Sprintf("t-%d", i)})["id"].(string)
			e.ok("POST", "/contacts/"+id+"/tags", map[string]any{"id": tag})
			cos, tags = append(cos, co), append(tags, tag)
		}
		c := e.ok("GET", "/contacts/"+id, nil)
		wantN, wantMore := 10, true
		if loose {
			wantN, wantMore = 12, false
		}
		for _, k := range []string{"companies", "tags"} {
			l := c[k].(map[string]any)
			if len(l["data"].([]any)) != wantN || num(l["total_count"]) != 12 || l["has_more"] != wantMore {
				t.Errorf("loose=%v: embedded %s: %d entries, total_count %v, has_more %v", loose, k, len(l["data"].([]any)), l["total_count"], l["has_more"])
			}
		}
		if got := ids(c["companies"].(map[string]any)); !slices.Equal(got, cos[:wantN]) {
			t.Errorf("embedded companies = %v", got)
		}
		// The full lists.
		full := e.ok("GET", "/contacts/"+id+"/companies", nil)
		var got []string
		for _, co := range full["companies"].([]any) {
			got = append(got, co.(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, cos) || num(full["total_count"]) != 12 {
			t.Errorf("GET companies = %v (%v)", got, full["total_count"])
		}
		if got := ids(e.ok("GET", "/contacts/"+id+"/tags", nil)); !slices.Equal(got, tags) {
			t.Errorf("GET tags = %v", got)
		}
	}
}
