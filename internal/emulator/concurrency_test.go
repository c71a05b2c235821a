package emulator_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// TestConcurrentCreateSameExternalID: of many simultaneous creates with one
// external_id exactly one wins and every other gets the 409 naming it.
func TestConcurrentCreateSameExternalID(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	const n = 64
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = e.do("POST", "/contacts", map[string]any{"external_id": "same", "email": fmt.Sprintf("c%d@example.com", i)})
		}()
	}
	close(start)
	wg.Wait()

	var winner string
	created, conflicts := 0, 0
	for _, r := range results {
		switch r.status {
		case http.StatusOK:
			created++
			winner = r.obj(t)["id"].(string)
		case http.StatusConflict:
			conflicts++
		default:
			t.Errorf("unexpected %d: %s", r.status, r.raw)
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("created %d, conflicts %d", created, conflicts)
	}
	for _, r := range results {
		if r.status == http.StatusConflict && !strings.HasSuffix(errMessage(t, r), "id="+winner) {
			t.Errorf("409 names another contact: %s", errMessage(t, r))
		}
	}
	if got := len(e.srv.Snapshot().Contacts); got != 1 {
		t.Errorf("contacts = %d, want 1", got)
	}
}

// TestConcurrentMixedLoad hammers every kind of endpoint at once (run with
// -race) and then checks that the attachment bookkeeping still agrees.
func TestConcurrentMixedLoad(t *testing.T) {
	e := newEnv(t, emulator.Options{RateLimitPerMinute: 1_000_000})
	e.defineAttrs("contact", "n", "integer")
	co := e.ok("POST", "/companies", map[string]any{"company_id": "shared"})
	tag := e.ok("POST", "/tags", map[string]any{"name": "load"})
	const workers, each = 16, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c := e.ok("POST", "/contacts", map[string]any{"external_id": fmt.Sprintf("w%d-%d", w, i)})
				id := c["id"].(string)
				e.ok("PUT", "/contacts/"+id, map[string]any{"custom_attributes": map[string]any{"n": i}})
				e.ok("POST", "/contacts/"+id+"/companies", map[string]any{"id": co["id"]})
				e.ok("POST", "/contacts/"+id+"/tags", map[string]any{"id": tag["id"]})
				e.search(map[string]any{"field": "custom_attributes.n", "operator": "=", "value": i}, map[string]any{"per_page": 5})
				if i%2 == 1 {
					e.ok("DELETE", "/contacts/"+id+"/companies/"+co["id"].(string), nil)
				}
				if i%4 == 3 {
					e.ok("DELETE", "/contacts/"+id, nil)
				}
				_ = e.srv.Snapshot()
			}
		}()
	}
	wg.Wait()

	snap := e.srv.Snapshot()
	wantContacts := workers * (each - each/4)
	if len(snap.Contacts) != wantContacts {
		t.Errorf("contacts = %d, want %d", len(snap.Contacts), wantContacts)
	}
	attached := 0
	for _, c := range snap.Contacts {
		if len(c.CompanyIDs) == 1 {
			attached++
		}
	}
	company := e.ok("GET", "/companies/"+co["id"].(string), nil)
	if int(num(company["user_count"])) != attached || attached != workers*each/2 {
		t.Errorf("user_count %v, attached contacts %d, want %d", company["user_count"], attached, workers*each/2)
	}
	if got := snap.Counters.ByEndpoint["POST /contacts"]; got != workers*each {
		t.Errorf("POST /contacts counted %d times", got)
	}
}
