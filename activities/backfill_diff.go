package activities

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// How the backfill compares what Intercom holds with what it should.

// fieldDiff names the fields of want that have holds differently (have is
// an Intercom object as JSON; nil: there is none, everything differs).
// Custom attributes compare key by key, and only those the sync writes:
// others (the enrichment's) are not the backfill's business.
func fieldDiff(want intercom.Fields, have map[string]any) []string {
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, h := want[k], have[k]
		switch k {
		case "custom_attributes":
			wm, _ := w.(map[string]any)
			hm, _ := h.(map[string]any)
			for _, ck := range slices.Sorted(maps.Keys(wm)) {
				if !sameValue(wm[ck], hm[ck]) {
					diff = append(diff, "custom_attributes."+ck)
				}
			}
		case "email":
			// Intercom matches emails case-insensitively and may store
			// them lower-cased.
			ws, _ := w.(string)
			hs, _ := h.(string)
			if !strings.EqualFold(strings.TrimSpace(ws), strings.TrimSpace(hs)) {
				diff = append(diff, k)
			}
		default:
			if !sameValue(w, h) {
				diff = append(diff, k)
			}
		}
	}
	return diff
}

// sameValue compares JSON values: numbers by value whatever their Go type,
// and "" the same as null (Intercom's empty).
func sameValue(x, y any) bool {
	if s, ok := x.(string); ok && s == "" {
		x = nil
	}
	if s, ok := y.(string); ok && s == "" {
		y = nil
	}
	bx, errX := json.Marshal(x)
	by, errY := json.Marshal(y)
	return errX == nil && errY == nil && string(bx) == string(by)
}

// asMap is v as its JSON object.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
