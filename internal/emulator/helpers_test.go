package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

const token = "test-token"

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an emulator behind a real HTTP server, reached through a client
// whose transport validates every request and response against the spec.
type env struct {
	t      testing.TB
	srv    *emulator.Server
	url    string
	client *http.Client
}

func newEnv(t testing.TB, opts emulator.Options) *env {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	srv := emulator.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &env{
		t:      t,
		srv:    srv,
		url:    hs.URL,
		client: &http.Client{Transport: contract.NewValidatingTransport(t, http.DefaultTransport), Timeout: 30 * time.Second},
	}
}

type result struct {
	status int
	header http.Header
	raw    []byte
}

// obj decodes the body as an object (numbers as float64, like any client).
func (r result) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.raw, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.raw)
	}
	return m
}

type reqOpt struct {
	token     *string // nil: the env token; "" : no Authorization header
	skipCheck bool    // deliberately invalid request: skip request validation
	header    map[string]string
}

func (e *env) do(method, path string, body any) result {
	e.t.Helper()
	return e.doOpt(method, path, body, reqOpt{})
}

func (e *env) doOpt(method, path string, body any, o reqOpt) result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	ctx := context.Background()
	if o.skipCheck {
		ctx = contract.SkipRequestValidation(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	tok := token
	if o.token != nil {
		tok = *o.token
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Intercom-Version", "2.11")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range o.header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, raw: raw}
}

// ok performs a call that must answer 200 and returns the decoded object.
func (e *env) ok(method, path string, body any) map[string]any {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != http.StatusOK {
		e.t.Fatalf("%s %s: status %d, want 200: %s", method, path, r.status, r.raw)
	}
	return r.obj(e.t)
}

// wantError asserts an error.list response with one error.
func wantError(t testing.TB, r result, status int, code, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	m := r.obj(t)
	if m["type"] != "error.list" {
		t.Errorf("type = %v, want error.list", m["type"])
	}
	errs, _ := m["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want exactly one", m["errors"])
	}
	e := errs[0].(map[string]any)
	if e["code"] != code {
		t.Errorf("code = %v, want %s", e["code"], code)
	}
	if message != "" && e["message"] != message {
		t.Errorf("message = %q, want %q", e["message"], message)
	}
}

// errMessage returns the first error's message.
func errMessage(t testing.TB, r result) string {
	t.Helper()
	errs, _ := r.obj(t)["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %s", r.raw)
	}
	msg, _ := errs[0].(map[string]any)["message"].(string)
	return msg
}

// defineAttrs creates custom data attributes through the API.
func (e *env) defineAttrs(model string, nameTypes ...string) {
	e.t.Helper()
	for i := 0; i+1 < len(nameTypes); i += 2 {
		e.ok("POST", "/data_attributes", map[string]any{"name": nameTypes[i], "model": model, "data_type": nameTypes[i+1]})
	}
}

func (e *env) createContact(body map[string]any) map[string]any {
	e.t.Helper()
	return e.ok("POST", "/contacts", body)
}

func (e *env) search(query any, pagination map[string]any) map[string]any {
	e.t.Helper()
	body := map[string]any{"query": query}
	if pagination != nil {
		body["pagination"] = pagination
	}
	return e.ok("POST", "/contacts/search", body)
}

// ids returns the id of every object in a list's data.
func ids(list map[string]any) []string {
	var out []string
	data, _ := list["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}

func strPtr(s string) *string { return &s }

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	panic(fmt.Sprintf("not a number: %T %v", v, v))
}
