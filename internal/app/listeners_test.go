package app_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// With the member database down, the production wiring stays ready (it
// can take webhooks: Temporal answers), reports mysql unavailable when
// asked verbosely, and answers the lookup 503 with a generic message;
// nothing names a host, a port or a driver.
func TestReadyWithMemberDatabaseDown(t *testing.T) {
	cfg := productionConfig(t)
	cfg.MembersMySQLDSN = "members_ro:secret-pw@tcp(127.0.0.1:1)/members?timeout=1s"
	a, err := app.New(context.Background(), cfg, testenv.Logger(t), app.Parts{API: true}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	serve := func(method, path, body string, hdr http.Header) (int, map[string]any, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %q", method, path, rec.Code, rec.Body)
		}
		return rec.Code, out, rec.Body.String()
	}
	leaks := func(what, body string) {
		for _, leak := range []string{"127.0.0.1", "tcp", "dial", "refused", "secret-pw", "members_ro", "mysql:"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s leaks %q: %s", what, leak, body)
			}
		}
	}

	if code, out, _ := serve("GET", "/readyz", "", nil); code != 200 || out["status"] != "ok" {
		t.Fatalf("/readyz with the member database down = %d %v, want 200", code, out)
	}
	code, out, body := serve("GET", "/readyz?verbose=1", "", nil)
	checks, _ := out["checks"].(map[string]any)
	if code != 200 || checks["mysql"] != "unavailable" || checks["temporal"] != "ok" || checks["postgres"] != "ok" || checks["positions"] != "ok" {
		t.Fatalf("/readyz?verbose=1 = %d %v", code, out)
	}
	leaks("/readyz?verbose=1", body)

	hdr := http.Header{"Authorization": {"Bearer lookup-token"}}
	code, out, body = serve("POST", "/api/intercom/lookup-email", `{"email":"ada.lovelace@example.com"}`, hdr)
	if code != http.StatusServiceUnavailable || out["error"] != "member lookup is temporarily unavailable; retry later" || len(out) != 1 {
		t.Fatalf("lookup with the member database down = %d %v", code, out)
	}
	leaks("lookup", body)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// With INTERNAL_HTTP_ADDR, the running service serves the webhooks and
// probes on HTTP_ADDR only and the lookup and /metrics on the internal
// listener only; both carry the hardened limits and both stop on
// shutdown. Without it, one listener serves everything.
func TestInternalListenerSplit(t *testing.T) {
	cfg := productionConfig(t)
	cfg.HTTPAddr, cfg.InternalHTTPAddr = freeAddr(t), freeAddr(t)
	a, err := app.New(context.Background(), cfg, testenv.Logger(t), app.Parts{API: true}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	cl := &http.Client{Timeout: 10 * time.Second}
	do := func(method, addr, path string, hdr http.Header) int {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(`{"email":"ada.lovelace@example.com"}`))
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := cl.Do(req)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if do("GET", cfg.HTTPAddr, "/healthz", nil) == 200 && do("GET", cfg.InternalHTTPAddr, "/metrics", nil) == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listeners did not come up")
		}
	}

	token := http.Header{"Authorization": {"Bearer lookup-token"}}
	hugeHeader := http.Header{"X-Pad": {strings.Repeat("x", cfg.HTTPMaxHeaderBytes+4096)}}
	for _, c := range []struct {
		listener, addr, method, path string
		hdr                          http.Header
		want                         int
	}{
		{"public", cfg.HTTPAddr, "POST", "/api/intercom/lookup-email", token, http.StatusNotFound},
		{"public", cfg.HTTPAddr, "GET", "/metrics", nil, http.StatusNotFound},
		{"public", cfg.HTTPAddr, "POST", "/webhooks/clerk", nil, http.StatusUnauthorized},
		{"public", cfg.HTTPAddr, "POST", "/api/intercom/webhook", nil, http.StatusUnauthorized},
		{"public", cfg.HTTPAddr, "GET", "/healthz", nil, http.StatusOK},
		{"public", cfg.HTTPAddr, "GET", "/readyz", nil, http.StatusOK},
		{"public", cfg.HTTPAddr, "GET", "/healthz", hugeHeader, http.StatusRequestHeaderFieldsTooLarge},
		{"internal", cfg.InternalHTTPAddr, "POST", "/api/intercom/lookup-email", token, http.StatusOK},
		{"internal", cfg.InternalHTTPAddr, "POST", "/api/intercom/lookup-email", nil, http.StatusUnauthorized},
		{"internal", cfg.InternalHTTPAddr, "GET", "/metrics", nil, http.StatusOK},
		{"internal", cfg.InternalHTTPAddr, "POST", "/webhooks/clerk", nil, http.StatusNotFound},
		{"internal", cfg.InternalHTTPAddr, "GET", "/metrics", hugeHeader, http.StatusRequestHeaderFieldsTooLarge},
	} {
		if got := do(c.method, c.addr, c.path, c.hdr); got != c.want {
			t.Errorf("%s listener %s %s = %d, want %d", c.listener, c.method, c.path, got, c.want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	for _, addr := range []string{cfg.HTTPAddr, cfg.InternalHTTPAddr} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}

	// Unset: one handler with every route, no internal one.
	cfg.InternalHTTPAddr = ""
	b, err := app.New(context.Background(), cfg, testenv.Logger(t), app.Parts{API: true}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	public, internal, err := b.Handlers()
	if err != nil || internal != nil {
		t.Fatalf("Handlers without INTERNAL_HTTP_ADDR: internal %v, %v", internal, err)
	}
	for path, want := range map[string]int{"/metrics": 200, "/readyz": 200} {
		rec := httptest.NewRecorder()
		public.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("single listener GET %s = %d", path, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	public.ServeHTTP(rec, httptest.NewRequest("POST", "/api/intercom/lookup-email", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("single listener lookup = %d, want 401 (served, unauthenticated)", rec.Code)
	}
}
