package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func rateHeaders(t *testing.T, r result) (limit, remaining int, reset int64) {
	t.Helper()
	var err error
	if limit, err = strconv.Atoi(r.header.Get("X-RateLimit-Limit")); err != nil {
		t.Fatalf("X-RateLimit-Limit: %v (%v)", err, r.header)
	}
	if remaining, err = strconv.Atoi(r.header.Get("X-RateLimit-Remaining")); err != nil {
		t.Fatalf("X-RateLimit-Remaining: %v", err)
	}
	if reset, err = strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64); err != nil {
		t.Fatalf("X-RateLimit-Reset: %v", err)
	}
	return
}

func TestRateLimitWindows(t *testing.T) {
	// 3 s into a window that started at ...000.
	clk := newClock(time.Unix(1_700_000_003, 0))
	e := newEnv(t, emulator.Options{Now: clk.Now, RateLimitPerMinute: 60}) // 10 per 10 s

	for i := range 10 {
		r := e.do("GET", "/me", nil)
		if r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, r.status, r.raw)
		}
		limit, remaining, reset := rateHeaders(t, r)
		if limit != 10 || remaining != 9-i || reset != 1_700_000_010 {
			t.Errorf("call %d: limit %d remaining %d reset %d", i, limit, remaining, reset)
		}
		clk.Advance(500 * time.Millisecond) // stays inside the window
	}
	r := e.do("GET", "/me", nil)
	wantError(t, r, http.StatusTooManyRequests, "rate_limit_exceeded", "Exceeded rate limit of 10 in 10_seconds")
	if limit, remaining, reset := rateHeaders(t, r); limit != 10 || remaining != 0 || reset != 1_700_000_010 {
		t.Errorf("429 headers: limit %d remaining %d reset %d", limit, remaining, reset)
	}
	// Rejected calls never reach the API.
	wantError(t, e.do("POST", "/contacts", map[string]any{"external_id": "x"}), http.StatusTooManyRequests, "rate_limit_exceeded", "")

	// The inspection API is not limited.
	if r := e.doOpt("GET", "/_emulator/state", nil, reqOpt{token: strPtr("")}); r.status != http.StatusOK {
		t.Errorf("state while limited: %d", r.status)
	}
	snap := e.srv.Snapshot()
	if snap.Counters.Requests != 10 || snap.Counters.RateLimited != 2 || len(snap.Contacts) != 0 {
		t.Errorf("counters = %+v", snap.Counters)
	}

	// The next wall-clock window starts fresh.
	clk.Set(time.Unix(1_700_000_010, 0))
	r = e.do("GET", "/me", nil)
	if r.status != http.StatusOK {
		t.Fatalf("new window: %d", r.status)
	}
	if limit, remaining, reset := rateHeaders(t, r); limit != 10 || remaining != 9 || reset != 1_700_000_020 {
		t.Errorf("new window headers: limit %d remaining %d reset %d", limit, remaining, reset)
	}
}

func TestRateLimitHeaderValues(t *testing.T) {
	clk := newClock(time.Unix(1_700_000_000, 0))
	// 1000/min is 167 per 10-second window, as in Intercom's docs.
	e := newEnv(t, emulator.Options{Now: clk.Now, RateLimitPerMinute: 1000})
	r := e.do("GET", "/me", nil)
	if limit, remaining, _ := rateHeaders(t, r); limit != 167 || remaining != 166 {
		t.Errorf("limit %d remaining %d", limit, remaining)
	}
	// Unauthenticated responses carry no rate-limit headers.
	r = e.doOpt("GET", "/me", nil, reqOpt{token: strPtr("wrong"), skipCheck: true})
	wantError(t, r, http.StatusUnauthorized, "unauthorized", "Access Token Invalid")
	if r.header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("401 has rate-limit headers: %v", r.header)
	}

	// Without a limit there is nothing to report.
	u := newEnv(t, emulator.Options{})
	if r := u.do("GET", "/me", nil); r.header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("unlimited server sent %v", r.header)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, emulator.Options{Token: "secret"})
	for name, o := range map[string]reqOpt{
		"missing": {token: strPtr(""), skipCheck: true},
		"wrong":   {token: strPtr("nope")},
		"basic":   {token: strPtr(""), skipCheck: true, header: map[string]string{"Authorization": "Basic c2VjcmV0"}},
	} {
		r := e.doOpt("GET", "/me", nil, o)
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, r.status)
			continue
		}
		wantError(t, r, http.StatusUnauthorized, "unauthorized", "Access Token Invalid")
		if r.obj(t)["request_id"] == nil {
			t.Errorf("%s: 401 without request_id", name)
		}
	}
	if r := e.doOpt("GET", "/me", nil, reqOpt{token: strPtr("secret")}); r.status != http.StatusOK {
		t.Errorf("right token: %d", r.status)
	}
	// With no configured token any non-empty bearer works.
	open := emulator.New(emulator.Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer whatever")
	open.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("open server, any token: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer ")
	open.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("open server, empty token: %d", rec.Code)
	}
	if e.srv.Snapshot().Counters.Unauthorized != 3 {
		t.Errorf("unauthorized = %d, want 3", e.srv.Snapshot().Counters.Unauthorized)
	}
}
