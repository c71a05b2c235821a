package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that captures Errorf instead of failing the real
// test, so the tests can assert that the transport reports problems.
type recorder struct {
	testing.TB // the real test, for everything not overridden
	mu         sync.Mutex
	errs       []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = nil
}

const validContact = `{
 "type":"contact","id":"667d60b08a68186f43bafdbf","workspace_id":"abc123","external_id":null,
 "role":"user","email":"joe@example.com","phone":null,"name":null,"avatar":null,"owner_id":null,
 "social_profiles":{"type":"list","data":[]},"has_hard_bounced":false,"marked_email_as_spam":false,
 "unsubscribed_from_emails":false,"created_at":1719492784,"updated_at":1719492784,"signed_up_at":null,
 "last_seen_at":null,"last_replied_at":null,"last_contacted_at":null,"last_email_opened_at":null,
 "last_email_clicked_at":null,"language_override":null,"browser":null,"browser_version":null,
 "browser_language":null,"os":null,"location":{"type":"location","country":null,"region":null,"city":null},
 "custom_attributes":{},
 "tags":{"type":"list","data":[],"url":"/contacts/667d60b08a68186f43bafdbf/tags","total_count":0,"has_more":false},
 "notes":{"type":"list","data":[],"url":"/contacts/667d60b08a68186f43bafdbf/notes","total_count":0,"has_more":false},
 "companies":{"type":"list","data":[],"url":"/contacts/667d60b08a68186f43bafdbf/companies","total_count":0,"has_more":false}
}`

const validCompany = `{"type":"company","id":"5f4d3c1c","company_id":"c-1","app_id":"app","name":"Acme",
 "remote_created_at":0,"created_at":1,"updated_at":1,"last_request_at":0,"monthly_spend":0,"session_count":0,
 "user_count":0,"size":0,"website":"","industry":"","custom_attributes":{"seats":12,"tier":"gold"}}`

// fakeIntercom answers a handful of paths with canned bodies, some valid
// and some deliberately wrong.
func fakeIntercom() http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	mux.HandleFunc("GET /contacts/good", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, validContact)
	})
	mux.HandleFunc("GET /contacts/bad", func(w http.ResponseWriter, r *http.Request) {
		// role must be a string and workspace_id is required.
		write(w, 200, `{"type":"contact","id":"x","role":7}`)
	})
	mux.HandleFunc("GET /contacts/missing", func(w http.ResponseWriter, r *http.Request) {
		write(w, 404, `{"type":"error.list","request_id":null,"errors":[{"code":"not_found","message":"User Not Found"}]}`)
	})
	mux.HandleFunc("GET /contacts/badError", func(w http.ResponseWriter, r *http.Request) {
		// 404 is undocumented for this op, so kin accepts any body; the
		// envelope check must still catch this.
		write(w, 404, `{"message":"nope"}`)
	})
	mux.HandleFunc("POST /contacts", func(w http.ResponseWriter, r *http.Request) {
		write(w, 409, `{"type":"error.list","request_id":"80ec9d92-99ff-4da9-9a0e-c0ab7c42f7e7","errors":[{"code":"conflict","message":"A contact matching those details already exists with id=5da6f18e3d7cf967e4582d05"}]}`)
	})
	mux.HandleFunc("GET /companies", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, validCompany)
	})
	mux.HandleFunc("POST /tags", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, `{"type":"tag","id":"17","name":"vip"}`)
	})
	mux.HandleFunc("POST /companies", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, validCompany)
	})
	mux.HandleFunc("GET /_emulator/state", func(w http.ResponseWriter, r *http.Request) {
		write(w, 200, `{"anything":"goes"}`)
	})
	return mux
}

func newClient(t testing.TB) (*http.Client, string) {
	srv := httptest.NewServer(fakeIntercom())
	t.Cleanup(srv.Close)
	return &http.Client{Transport: NewValidatingTransport(t, http.DefaultTransport)}, srv.URL
}

func do(t *testing.T, c *http.Client, ctx context.Context, method, url, body string, auth bool) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer test")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestSpecLoads(t *testing.T) {
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.Version != "2.11" {
		t.Errorf("version = %q", doc.Info.Version)
	}
	if doc.Components.Schemas["custom_attributes"] == nil {
		t.Error("custom_attributes patch missing")
	}
	sum := sha256.Sum256(SpecYAML())
	if got := hex.EncodeToString(sum[:]); got != "3d40dd2e4009882b7b4a4cf57ac03e3c47d781120ef9a966f6803982df8a6016" {
		t.Errorf("embedded spec differs from upstream: sha256 %s", got)
	}
	if !strings.Contains(License(), "Copyright (c) 2022 Intercom, Inc.") {
		t.Error("licence notice missing")
	}
}

func TestTransportReports(t *testing.T) {
	rec := &recorder{TB: t}
	c, base := newClient(rec)
	ctx := context.Background()

	cases := []struct {
		name       string
		ctx        context.Context
		method     string
		path, body string
		auth       bool
		wantErr    string // "" means no report expected
	}{
		{"valid response", ctx, "GET", "/contacts/good", "", true, ""},
		{"invalid response", ctx, "GET", "/contacts/bad", "", true, "response 200 to GET /contacts/bad"},
		{"undocumented 404 with envelope", ctx, "GET", "/contacts/missing", "", true, ""},
		{"undocumented 404 without envelope", ctx, "GET", "/contacts/badError", "", true, "errors"},
		{"undocumented 409 with envelope", ctx, "POST", "/contacts", `{"email":"a@b.c"}`, true, ""},
		{"missing bearer", ctx, "GET", "/contacts/good", "", false, "request GET /contacts/good"},
		{"missing bearer, request check skipped", SkipRequestValidation(ctx), "GET", "/contacts/good", "", false, ""},
		{"invalid request body", ctx, "POST", "/contacts", `{"email":5}`, true, "request POST /contacts"},
		{"single company lookup", ctx, "GET", "/companies?company_id=c-1", "", true, ""},
		{"company list expected without company_id", ctx, "GET", "/companies", "", true, "response 200 to GET /companies"},
		{"path outside the spec", ctx, "GET", "/_emulator/state", "", false, ""},
		{"method not in the spec", ctx, "PATCH", "/contacts/good", "", true, "PATCH /contacts/good"},
		// Relaxation: POST /tags variants overlap, so the oneOf is an anyOf.
		{"tag users", ctx, "POST", "/tags", `{"name":"vip","users":[{"id":"abc"}]}`, true, ""},
		{"tag companies", ctx, "POST", "/tags", `{"name":"vip","companies":[{"company_id":"c-1"}]}`, true, ""},
		{"tag without name", ctx, "POST", "/tags", `{"users":[{"id":"abc"}]}`, true, "request POST /tags"},
		// Relaxation: typed company custom attributes.
		{"typed company attributes", ctx, "POST", "/companies", `{"company_id":"c-1","custom_attributes":{"seats":12,"active":true}}`, true, ""},
		{"company size must be an integer", ctx, "POST", "/companies", `{"company_id":"c-1","size":"big"}`, true, "request POST /companies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.reset()
			status, _ := do(t, c, tc.ctx, tc.method, base+tc.path, tc.body, tc.auth)
			if status == 0 {
				t.Fatal("no status")
			}
			errs := rec.errors()
			if tc.wantErr == "" {
				if len(errs) != 0 {
					t.Errorf("unexpected reports: %q", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("expected a report containing %q, got none", tc.wantErr)
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.wantErr) {
				t.Errorf("reports %q do not mention %q", errs, tc.wantErr)
			}
		})
	}
}

func TestTransportKeepsBodies(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, validContact)
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	c := &http.Client{Transport: NewValidatingTransport(rec, nil)}
	body := `{"role":"user","external_id":"u-1","custom_attributes":{"plan":"pro"}}`
	req, _ := http.NewRequest("PUT", srv.URL+"/contacts/667d60b08a68186f43bafdbf", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(resp.Body)
	if string(got) != body {
		t.Errorf("server got body %q, want %q", got, body)
	}
	if !bytes.Equal(respBody, []byte(validContact)) {
		t.Errorf("client got a different response body")
	}
	if errs := rec.errors(); len(errs) != 0 {
		t.Errorf("unexpected reports: %q", errs)
	}
}
