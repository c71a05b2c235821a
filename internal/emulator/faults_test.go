package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func TestFaultShares(t *testing.T) {
	e := newEnv(t, emulator.Options{Faults: emulator.Faults{ServerErrorRate: 0.2, RateLimitRate: 0.1, Seed: 42}})
	const n = 1000
	statuses := map[int]int{}
	var first []int
	for i := range n {
		r := e.do("GET", "/me", nil)
		statuses[r.status]++
		if i < 50 {
			first = append(first, r.status)
		}
		switch r.status {
		case http.StatusInternalServerError:
			wantError(t, r, http.StatusInternalServerError, "server_error", "")
		case http.StatusTooManyRequests:
			wantError(t, r, http.StatusTooManyRequests, "rate_limit_exceeded", "Exceeded rate limit of 167 in 10_seconds")
			if r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
				t.Fatalf("injected 429 headers: %v", r.header)
			}
		}
	}
	// Binomial(1000, 0.2) has sd ~12.6 and (1000, 0.1) ~9.5: 4 sd bounds.
	if got := statuses[500]; got < 150 || got > 250 {
		t.Errorf("500s = %d, want about 200", got)
	}
	if got := statuses[429]; got < 62 || got > 138 {
		t.Errorf("429s = %d, want about 100", got)
	}
	if statuses[200]+statuses[500]+statuses[429] != n {
		t.Errorf("unexpected statuses %v", statuses)
	}
	c := e.srv.Snapshot().Counters
	if c.FaultsInjected != int64(statuses[500]+statuses[429]) || c.Requests != int64(statuses[200]) || c.RateLimited != 0 {
		t.Errorf("counters = %+v, statuses %v", c, statuses)
	}

	// The same seed gives the same sequence.
	e.srv.Reset() // restores Options.Faults and reseeds
	var again []int
	for range 50 {
		again = append(again, e.do("GET", "/me", nil).status)
	}
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("sequence differs at %d: %v vs %v", i, first, again)
		}
	}
}

func TestFaultsBeforeAuthAndViaHTTP(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	noAuth := reqOpt{token: strPtr(""), skipCheck: true}
	r := e.doOpt("PUT", "/_emulator/faults", `{"server_error_rate":1,"seed":7}`, reqOpt{token: strPtr("")})
	if r.status != http.StatusOK {
		t.Fatalf("set faults: %d %s", r.status, r.raw)
	}
	// Injected errors happen before anything else, even authentication.
	wantError(t, e.doOpt("GET", "/me", nil, noAuth), http.StatusInternalServerError, "server_error", "")
	wantError(t, e.do("POST", "/contacts", map[string]any{"external_id": "x"}), http.StatusInternalServerError, "server_error", "")
	if snap := e.srv.Snapshot(); len(snap.Contacts) != 0 || snap.Counters.Requests != 0 || snap.Counters.FaultsInjected != 2 {
		t.Errorf("state after faults: %+v", snap.Counters)
	}
	r = e.doOpt("GET", "/_emulator/faults", nil, reqOpt{token: strPtr("")})
	var f emulator.Faults
	if err := json.Unmarshal(r.raw, &f); err != nil || f.ServerErrorRate != 1 || f.Seed != 7 {
		t.Errorf("faults = %s (%v)", r.raw, err)
	}
	r = e.doOpt("PUT", "/_emulator/faults", `{"server_error_rate":2}`, reqOpt{token: strPtr("")})
	if r.status != http.StatusBadRequest {
		t.Errorf("invalid faults accepted: %d", r.status)
	}
	e.srv.SetFaults(emulator.Faults{})
	if r := e.do("GET", "/me", nil); r.status != http.StatusOK {
		t.Errorf("after clearing faults: %d", r.status)
	}
}

func TestSlowFaults(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.doOpt("PUT", "/_emulator/faults", `{"slow_rate":1,"slow_delay":"80ms","seed":1}`, reqOpt{token: strPtr("")})
	if r.status != http.StatusOK {
		t.Fatalf("set faults: %d %s", r.status, r.raw)
	}
	start := time.Now()
	if r := e.do("GET", "/me", nil); r.status != http.StatusOK {
		t.Fatalf("slow call: %d", r.status)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("slow call took %v, want >= 80ms", d)
	}
	c := e.srv.Snapshot().Counters
	if c.SlowInjected != 1 || c.Requests != 1 {
		t.Errorf("counters = %+v", c)
	}
}
