package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

const (
	testToken       = "tok-doctor-test-0123456789"
	testClerkSecret = "whsec_ZG9jdG9yLXRlc3Qtc2lnbmluZy1zZWNyZXQ="
	testHubSecret   = "hub-secret-doctor-test"
	testLookupToken = "lookup-token-doctor-test"
)

// workspace is an emulator behind an optional wrapper (which stands in
// for Intercom behaviour the emulator does not have, e.g. refusing large
// IN searches), served over HTTP.
type workspace struct {
	em  *emulator.Server
	srv *httptest.Server
}

func newWorkspace(t *testing.T, opts emulator.Options, wrap func(http.Handler) http.Handler) *workspace {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	em := emulator.New(opts)
	var h http.Handler = em
	if wrap != nil {
		h = wrap(em)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &workspace{em: em, srv: srv}
}

// config is a production-like configuration pointing at the workspace,
// with every secret set.
func (w *workspace) config() config.Config {
	cfg := config.Defaults()
	cfg.IntercomAPIBaseURL = w.srv.URL
	cfg.IntercomAccessToken = testToken
	cfg.IntercomTimeout = 10 * time.Second
	cfg.EnvironmentName = "doctor-test"
	cfg.ClerkWebhookSecret = testClerkSecret
	cfg.IntercomWebhookSecret = testHubSecret
	cfg.LookupAPIToken = testLookupToken
	return cfg
}

// run runs doctor with every Intercom call validated against the 2.11
// description.
func run(t *testing.T, cfg config.Config, write bool, searchTimeout time.Duration) *Report {
	t.Helper()
	return runAttrs(t, cfg, write, searchTimeout, nil)
}

// runAttrs is run checking attrs instead of the service's attributes.
func runAttrs(t *testing.T, cfg config.Config, write bool, searchTimeout time.Duration, attrs []Attribute) *Report {
	t.Helper()
	if searchTimeout == 0 {
		searchTimeout = 10 * time.Second
	}
	r := Run(t.Context(), Options{Config: cfg, Write: write, SearchTimeout: searchTimeout, Attributes: attrs,
		Transport: contract.NewValidatingTransport(t, nil)})
	assertNoSecrets(t, r)
	return r
}

// assertNoSecrets fails if the report, as text or JSON, shows a secret,
// the admin's name or email, or any email address.
func assertNoSecrets(t *testing.T, r *Report) {
	t.Helper()
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		for _, secret := range []string{testToken, testClerkSecret, strings.TrimPrefix(testClerkSecret, "whsec_"),
			testHubSecret, testLookupToken, emulator.AdminName, emulator.AdminEmail, "wrong-token-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("the report shows %q:\n%s", secret, out)
			}
		}
		if strings.Contains(out, "@") {
			t.Errorf("the report shows an email address:\n%s", out)
		}
	}
}

// want asserts the status of each listed check.
func want(t *testing.T, r *Report, statuses map[string]Status) {
	t.Helper()
	for id, st := range statuses {
		c := r.Check(id)
		if c == nil {
			t.Errorf("no check %s", id)
			continue
		}
		if c.Status != st {
			t.Errorf("check %s is %s (%s), want %s", id, c.Status, c.Observed, st)
		}
	}
}

func mustCheck(t *testing.T, r *Report, id string) *Check {
	t.Helper()
	c := r.Check(id)
	if c == nil {
		t.Fatalf("no check %s", id)
	}
	return c
}

// intercept answers requests matching match with handle and passes the
// rest to the emulator. The request body is readable by both.
func intercept(match func(r *http.Request, body []byte) bool, handle func(w http.ResponseWriter, r *http.Request, body []byte, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if match(r, body) {
				handle(w, r, body, next)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func writeIntercomError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error.list", "request_id": "req-doctor-test",
		"errors": []map[string]string{{"code": code, "message": msg}}})
}

// searchQuery is the query of a POST /contacts/search body.
type searchQuery struct {
	Query struct {
		Field    string          `json:"field"`
		Operator string          `json:"operator"`
		Value    json.RawMessage `json:"value"`
	} `json:"query"`
}

func isSearch(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/contacts/search"
}

// inValues is how many values an IN search carries (0 for other queries).
func inValues(body []byte) int {
	var q searchQuery
	if json.Unmarshal(body, &q) != nil || q.Query.Operator != "IN" {
		return 0
	}
	var vals []any
	_ = json.Unmarshal(q.Query.Value, &vals)
	return len(vals)
}

// throwaways are the emulator's contacts made by doctor.
func throwaways(em *emulator.Server) []emulator.Contact {
	var out []emulator.Contact
	for _, c := range em.Snapshot().Contacts {
		if strings.HasPrefix(c.ExternalID, Prefix) || strings.HasPrefix(c.Email, Prefix) {
			out = append(out, c)
		}
	}
	return out
}

func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
