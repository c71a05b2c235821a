package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func okCheck(name string) Check {
	return Check{Name: name, Check: func(context.Context) error { return nil }}
}

// downCheck fails with the kind of error a driver gives: host, port and
// user included, none of which may reach the answer.
func downCheck(name string) Check {
	return Check{Name: name, Check: func(context.Context) error {
		return errors.New("dial tcp 10.1.2.3:3306: connect: connection refused (user members_ro, dsn members_ro:pw@tcp(db.internal:3306)/members)")
	}}
}

func getJSON(t *testing.T, h http.Handler, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("GET %s: %d, body is not JSON: %q", path, rec.Code, rec.Body)
	}
	return rec.Code, out
}

// /readyz follows Checks (Temporal) only: the databases down, it is still
// 200; verbose it reports every dependency by name, ok or unavailable,
// and nothing else (no error text, host or DSN).
func TestReadinessFollowsChecksOnly(t *testing.T) {
	routes := func(temporal Check) http.Handler {
		return Routes{Clerk: http.NotFoundHandler(), Checks: []Check{temporal},
			Dependencies: []Check{downCheck("postgres"), downCheck("mysql"), okCheck("positions")}}.Router()
	}
	up, down := routes(okCheck("temporal")), routes(downCheck("temporal"))

	if code, out := getJSON(t, up, "/readyz"); code != 200 || len(out) != 1 || out["status"] != "ok" {
		t.Fatalf("Temporal up, databases down: %d %v, want 200 {\"status\":\"ok\"}", code, out)
	}
	if code, out := getJSON(t, down, "/readyz"); code != 503 || len(out) != 1 || out["status"] != "unavailable" {
		t.Fatalf("Temporal down: %d %v, want 503 {\"status\":\"unavailable\"}", code, out)
	}
	for _, c := range []struct {
		h        http.Handler
		code     int
		temporal string
	}{{up, 200, "ok"}, {down, 503, "unavailable"}} {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz?verbose=1", nil))
		var out struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"temporal": c.temporal, "postgres": "unavailable", "mysql": "unavailable", "positions": "ok"}
		if rec.Code != c.code || len(out.Checks) != len(want) {
			t.Fatalf("verbose: %d %s, want %d with %v", rec.Code, rec.Body, c.code, want)
		}
		for k, v := range want {
			if out.Checks[k] != v {
				t.Errorf("verbose: %s = %q, want %q (%s)", k, out.Checks[k], v, rec.Body)
			}
		}
		for _, leak := range []string{"10.1.2.3", "3306", "dial", "tcp", "members_ro", "db.internal", "refused"} {
			if strings.Contains(rec.Body.String(), leak) {
				t.Errorf("verbose answer leaks %q: %s", leak, rec.Body)
			}
		}
	}
}

// A dependency that hangs does not make Temporal look down: the checks
// run side by side within one budget.
func TestReadinessHangingDependency(t *testing.T) {
	hang := Check{Name: "mysql", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	slowTemporal := Check{Name: "temporal", Check: func(ctx context.Context) error {
		select {
		case <-time.After(ReadyTimeout / 2):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	h := Routes{Clerk: http.NotFoundHandler(), Checks: []Check{slowTemporal}, Dependencies: []Check{hang}}.Router()
	start := time.Now()
	code, out := getJSON(t, h, "/readyz?verbose=1")
	if code != 200 || out["checks"].(map[string]any)["mysql"] != "unavailable" {
		t.Fatalf("%d %v, want 200 with mysql unavailable", code, out)
	}
	if took := time.Since(start); took > ReadyTimeout+time.Second {
		t.Fatalf("answered after %s", took)
	}
}

// With the split, the public router serves the webhooks and the probes
// only, the internal one the lookup and /metrics only; Router keeps them
// together.
func TestPublicAndInternalRouters(t *testing.T) {
	mark := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"route": name}) })
	}
	rt := Routes{Clerk: mark("clerk"), Intercom: mark("intercom"), Lookup: mark("lookup"), Metrics: mark("metrics"),
		Checks: []Check{okCheck("temporal")}}
	requests := []struct{ method, path, route string }{
		{"POST", "/webhooks/clerk", "clerk"},
		{"POST", "/api/intercom/webhook", "intercom"},
		{"GET", "/healthz", ""},
		{"GET", "/readyz", ""},
		{"POST", "/api/intercom/lookup-email", "lookup"},
		{"GET", "/metrics", "metrics"},
	}
	public := map[string]bool{"/webhooks/clerk": true, "/api/intercom/webhook": true, "/healthz": true, "/readyz": true}
	for name, c := range map[string]struct {
		h     http.Handler
		serve func(path string) bool
	}{
		"Router":         {rt.Router(), func(string) bool { return true }},
		"PublicRouter":   {rt.PublicRouter(), func(p string) bool { return public[p] }},
		"InternalRouter": {rt.InternalRouter(), func(p string) bool { return !public[p] }},
	} {
		for _, req := range requests {
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, httptest.NewRequest(req.method, req.path, strings.NewReader(`{}`)))
			var out map[string]string
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			if !c.serve(req.path) {
				if rec.Code != http.StatusNotFound || out["error"] != "no such endpoint" {
					t.Errorf("%s %s %s = %d %s, want 404", name, req.method, req.path, rec.Code, rec.Body)
				}
				continue
			}
			if rec.Code != 200 || (req.route != "" && out["route"] != req.route) {
				t.Errorf("%s %s %s = %d %s, want the %s route", name, req.method, req.path, rec.Code, rec.Body, req.path)
			}
		}
	}
}
