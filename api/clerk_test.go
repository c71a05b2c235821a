package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

const testSecret = "whsec_Y2xlcmstc3luYy1maXh0dXJlLWtleS0wMDAx"

// fakeStarter records signal-with-start calls.
type fakeStarter struct {
	mu    sync.Mutex
	calls []startCall
	err   error
}

type startCall struct {
	WorkflowID, Signal, TaskQueue string
	Delivery                      clerk.Delivery
	Input                         workflows.SyncInput
}

func (f *fakeStarter) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any,
	opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.calls = append(f.calls, startCall{WorkflowID: id, Signal: signal, TaskQueue: opts.TaskQueue,
		Delivery: arg.(clerk.Delivery), Input: args[0].(workflows.SyncInput)})
	return nil, nil
}

func newHandler(t *testing.T, s Starter) *ClerkHandler {
	t.Helper()
	h, err := NewClerkHandler(testSecret, s, Queues{Workflows: "q", Intercom: "q-intercom"}, time.Second, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// post sends a delivery to the Clerk endpoint (see postTo).
func post(t *testing.T, h http.Handler, body []byte, hdr http.Header) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	return postTo(t, h, "/webhooks/clerk", body, hdr)
}

func signed(t *testing.T, svixID string, body []byte) http.Header {
	t.Helper()
	h, err := clerksim.Headers(testSecret, svixID, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSvixSignatureVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/svix-signature-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Name, Secret, Body string
		SvixID             string `json:"svix_id"`
		SvixTimestamp      string `json:"svix_timestamp"`
		SvixSignature      string `json:"svix_signature"`
		Valid              bool
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 6 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			starter := &fakeStarter{}
			h, err := NewClerkHandler(v.Secret, starter, Queues{Workflows: "q"}, time.Second, testenv.Logger(t))
			if err != nil {
				t.Fatal(err)
			}
			ts, _ := strconv.ParseInt(v.SvixTimestamp, 10, 64)
			h.now = func() time.Time { return time.Unix(ts, 0).Add(30 * time.Second) }
			hdr := http.Header{}
			hdr.Set("svix-id", v.SvixID)
			hdr.Set("svix-timestamp", v.SvixTimestamp)
			hdr.Set("svix-signature", v.SvixSignature)
			rec, _ := post(t, h, []byte(v.Body), hdr)
			if v.Valid && rec.Code == http.StatusUnauthorized {
				t.Fatalf("valid vector rejected: %s", rec.Body)
			}
			if !v.Valid && rec.Code != http.StatusUnauthorized {
				t.Fatalf("invalid vector answered %d, want 401", rec.Code)
			}
			if !v.Valid && len(starter.calls) > 0 {
				t.Fatal("invalid delivery reached Temporal")
			}
		})
	}
}

func TestSignatureTimestampTolerance(t *testing.T) {
	body := clerksim.DeletedEvent(clerk.UserDeleted, "user_1", "user")
	sent := time.Unix(1_800_000_000, 0)
	hdr, err := clerksim.Headers(testSecret, "msg_t", sent, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offset time.Duration
		want   int
	}{
		{0, 200}, {4*time.Minute + 59*time.Second, 200}, {-4 * time.Minute, 200},
		{5*time.Minute + time.Second, 401}, {-6 * time.Minute, 401}, {time.Hour, 401},
	} {
		h := newHandler(t, &fakeStarter{})
		h.now = func() time.Time { return sent.Add(tc.offset) }
		if rec, _ := post(t, h, body, hdr); rec.Code != tc.want {
			t.Errorf("received %s after signing: %d, want %d", tc.offset, rec.Code, tc.want)
		}
	}
}

// webhookHeaders signs body as Svix does and returns the webhook-* set
// (the names Svix also sends, per the Standard Webhooks spec).
func webhookHeaders(t *testing.T, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	svixSet, err := clerksim.Headers(testSecret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", svixSet.Get("svix-id"))
	h.Set("webhook-timestamp", svixSet.Get("svix-timestamp"))
	h.Set("webhook-signature", svixSet.Get("svix-signature"))
	return h
}

// The timestamp, the signature and the deduplication id come from one
// header set. A delivery captured 48 h ago, replayed with its webhook-*
// headers plus a fresh svix-timestamp and a forged svix-id (no
// svix-signature, so the Svix library would verify the webhook-* set), is
// refused and starts nothing.
func TestMixedSvixHeaderReplayIsRefused(t *testing.T) {
	body := clerksim.UserEvent(clerk.UserUpdated, clerksim.User{ID: "user_replay", UpdatedAtMs: 1})
	old := webhookHeaders(t, "msg_captured", time.Now().Add(-48*time.Hour), body)

	mixed := old.Clone()
	mixed.Set("svix-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	mixed.Set("svix-id", "msg_forged")
	// The same with a made-up svix-signature: the svix set is complete,
	// chosen, and does not verify.
	forgedSig := mixed.Clone()
	forgedSig.Set("svix-signature", "v1,"+strings.Repeat("A", 43)+"=")
	// The old signature moved to svix-signature under a fresh timestamp.
	moved := mixed.Clone()
	moved.Set("svix-signature", old.Get("webhook-signature"))
	// A header given twice is no set: which value would count?
	doubled := signed(t, "msg_double", body)
	doubled.Add("svix-id", "msg_other")

	for name, hdr := range map[string]http.Header{
		"webhook-* of 48 h ago + fresh svix-timestamp + forged svix-id": mixed,
		"... + forged svix-signature":                                   forgedSig,
		"... + the old signature as svix-signature":                     moved,
		"webhook-* of 48 h ago alone":                                   old,
		"svix-id twice":                                                 doubled,
	} {
		starter := &fakeStarter{}
		rec, out := post(t, newHandler(t, starter), body, hdr)
		if rec.Code != http.StatusUnauthorized || len(starter.calls) != 0 {
			t.Errorf("%s: %d %v, %d starts; want 401 and nothing started", name, rec.Code, out, len(starter.calls))
		}
	}
}

// A complete set is used whole: webhook-* alone verifies and dedups by
// webhook-id; a complete svix-* set wins over webhook-* headers (even stale
// ones) and dedups by svix-id.
func TestSvixHeaderSetChoice(t *testing.T) {
	body := clerksim.UserEvent(clerk.UserUpdated, clerksim.User{ID: "user_sets", UpdatedAtMs: 1})
	both := signed(t, "msg_svix", body)
	for k, v := range webhookHeaders(t, "msg_webhook_stale", time.Now().Add(-48*time.Hour), body) {
		both[k] = v
	}
	for name, c := range map[string]struct {
		hdr    http.Header
		wantID string
	}{
		"webhook-* only":             {webhookHeaders(t, "msg_webhook", time.Now(), body), "msg_webhook"},
		"svix-* and stale webhook-*": {both, "msg_svix"},
		"svix-* only":                {signed(t, "msg_plain", body), "msg_plain"},
	} {
		starter := &fakeStarter{}
		rec, out := post(t, newHandler(t, starter), body, c.hdr)
		if rec.Code != http.StatusOK || len(starter.calls) != 1 {
			t.Errorf("%s: %d %v, %d starts", name, rec.Code, out, len(starter.calls))
			continue
		}
		if got := starter.calls[0].Delivery.SvixID; got != c.wantID {
			t.Errorf("%s: deduplication id %q, want %q", name, got, c.wantID)
		}
	}
}

func TestRejections(t *testing.T) {
	good := clerksim.UserEvent(clerk.UserCreated, clerksim.User{ID: "user_r", Email: "r@example.com", UpdatedAtMs: 1})
	big := append([]byte(`{"type":"user.created","data":{"id":"u","pad":"`), bytes.Repeat([]byte("x"), MaxBodyBytes)...)
	big = append(big, []byte(`"}}`)...)
	tampered := signed(t, "msg_x", good)
	noSig := signed(t, "msg_y", good)
	noSig.Del("svix-signature")
	otherSecret, _ := clerksim.Headers("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==", "msg_z", time.Now(), good)
	malformed := []byte(`{"type":"user.created","data":`)
	noType := []byte(`{"data":{"id":"u"}}`)
	noUserID := clerksim.MembershipEvent(clerk.MembershipCreated, clerksim.Membership{ID: "m", Org: clerksim.Org{ID: "org"}})

	cases := []struct {
		name string
		body []byte
		hdr  http.Header
		want int
	}{
		{"over 1 MiB", big, signed(t, "msg_big", big), http.StatusRequestEntityTooLarge},
		{"tampered body", append([]byte(" "), good...), tampered, http.StatusUnauthorized},
		{"missing signature", good, noSig, http.StatusUnauthorized},
		{"no headers", good, http.Header{}, http.StatusUnauthorized},
		{"other secret", good, otherSecret, http.StatusUnauthorized},
		{"malformed JSON", malformed, signed(t, "msg_m", malformed), http.StatusBadRequest},
		{"no type", noType, signed(t, "msg_n", noType), http.StatusBadRequest},
		{"membership without user", noUserID, signed(t, "msg_u", noUserID), http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			starter := &fakeStarter{}
			rec, out := post(t, newHandler(t, starter), tc.body, tc.hdr)
			if rec.Code != tc.want {
				t.Fatalf("status %d (%v), want %d", rec.Code, out, tc.want)
			}
			if msg, _ := out["error"].(string); msg == "" {
				t.Fatalf("no error message in %v", out)
			}
			if len(starter.calls) != 0 {
				t.Fatal("rejected delivery reached Temporal")
			}
		})
	}
}

// Every example delivery in the Clerk contract routes to the right
// workflow, or is acknowledged and ignored when the service does not
// handle its type.
func TestClerkExamplesRouteToEntityWorkflows(t *testing.T) {
	want := map[string]string{
		"user.created":                    "user/user_2rA7kP9sLq3VnX6bYc1HdF8mZtE",
		"user.updated":                    "user/user_2rA7kP9sLq3VnX6bYc1HdF8mZtE",
		"user.deleted":                    "user/user_2rA7kP9sLq3VnX6bYc1HdF8mZtE",
		"organization.created":            "org/org_2rB1nW6cJx4TqE9vLm2YsA7dKpR",
		"organization.updated":            "org/org_2rB1nW6cJx4TqE9vLm2YsA7dKpR",
		"organization.deleted":            "org/org_2rB1nW6cJx4TqE9vLm2YsA7dKpR",
		"organizationMembership.created":  "user/user_2rE3pL5gHk8NzR1cWq6TvB4yXmA",
		"organizationMembership.updated":  "user/user_2rE3pL5gHk8NzR1cWq6TvB4yXmA",
		"organizationMembership.deleted":  "user/user_2rE3pL5gHk8NzR1cWq6TvB4yXmA",
		"organizationInvitation.created":  "invite/orginv_2rD9mX4cVb7NqT2wKs5HyE8aLpJ",
		"organizationInvitation.accepted": "invite/orginv_2rD9mX4cVb7NqT2wKs5HyE8aLpJ",
		"organizationInvitation.revoked":  "invite/orginv_2rDAq1Zt6Gh3YuP8nMc4WxR7kVe",
	}
	files, _ := filepath.Glob("testdata/clerk/*.json")
	if len(files) != 12 {
		t.Fatalf("%d example files, want 12", len(files))
	}
	for _, f := range files {
		typ := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(typ, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			starter := &fakeStarter{}
			rec, out := post(t, newHandler(t, starter), body, signed(t, "msg_"+typ, body))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %v", rec.Code, out)
			}
			wfID, handled := want[typ]
			if !handled {
				if out["status"] != "ignored" || len(starter.calls) != 0 {
					t.Fatalf("unhandled type: %v, %d starts", out, len(starter.calls))
				}
				return
			}
			if len(starter.calls) != 1 {
				t.Fatalf("%d starts, want 1", len(starter.calls))
			}
			c := starter.calls[0]
			if c.WorkflowID != wfID || out["workflow_id"] != wfID {
				t.Fatalf("workflow %s (answer %v), want %s", c.WorkflowID, out["workflow_id"], wfID)
			}
			if c.Signal != workflows.ClerkEventSignal || c.TaskQueue != "q" || c.Input.IntercomTaskQueue != "q-intercom" {
				t.Fatalf("call %+v", c)
			}
			if c.Delivery.SvixID != "msg_"+typ || c.Delivery.Type != typ || !json.Valid(c.Delivery.Data) {
				t.Fatalf("delivery %+v", c.Delivery)
			}
			// What reaches Temporal is what the sync uses, no more.
			for _, dropped := range []string{"phone_number", "private_metadata", "unsafe_metadata", "external_accounts", "image_url"} {
				if strings.Contains(string(c.Delivery.Data), dropped) {
					t.Fatalf("signalled data keeps %s: %s", dropped, c.Delivery.Data)
				}
			}
			if c.Input.EntityID != strings.SplitN(wfID, "/", 2)[1] || c.Delivery.EntityID != c.Input.EntityID {
				t.Fatalf("entity %q / %q for %s", c.Input.EntityID, c.Delivery.EntityID, wfID)
			}
		})
	}
}

func TestUnknownEventTypeIsAcknowledged(t *testing.T) {
	body := []byte(`{"type":"session.created","object":"event","data":{"id":"sess_1"}}`)
	starter := &fakeStarter{}
	rec, out := post(t, newHandler(t, starter), body, signed(t, "msg_s", body))
	if rec.Code != http.StatusOK || out["status"] != "ignored" || len(starter.calls) != 0 {
		t.Fatalf("%d %v (%d starts)", rec.Code, out, len(starter.calls))
	}
}

func TestTemporalFailureIs503(t *testing.T) {
	body := clerksim.UserEvent(clerk.UserCreated, clerksim.User{ID: "user_503", UpdatedAtMs: 1})
	rec, out := post(t, newHandler(t, &fakeStarter{err: errors.New("unavailable")}), body, signed(t, "msg_503", body))
	if rec.Code != http.StatusServiceUnavailable || out["error"] == "" {
		t.Fatalf("%d %v", rec.Code, out)
	}
}

// With a real client and no Temporal listening, the handler answers 503
// within its start timeout instead of hanging.
func TestUnreachableTemporalIs503(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := clerksim.UserEvent(clerk.UserCreated, clerksim.User{ID: "user_down", UpdatedAtMs: 1})
	start := time.Now()
	rec, out := post(t, newHandler(t, c), body, signed(t, "msg_down", body))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%d %v, want 503", rec.Code, out)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("answered after %s; the handler's timeout is 1s", took)
	}
}

func TestRouterHealthAndReadiness(t *testing.T) {
	down := errors.New("down")
	healthy := Routes{Clerk: http.NotFoundHandler(), Checks: []Check{{Name: "postgres", Check: func(context.Context) error { return nil }}}}
	sick := Routes{Clerk: http.NotFoundHandler(), Checks: []Check{
		{Name: "postgres", Check: func(context.Context) error { return nil }},
		{Name: "temporal", Check: func(context.Context) error { return down }},
	}}
	get := func(r Routes, path string) (int, string) {
		rec := httptest.NewRecorder()
		r.Router().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	if code, _ := get(sick, "/healthz"); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
	if code, body := get(healthy, "/readyz"); code != 200 {
		t.Fatalf("readyz healthy = %d %s", code, body)
	}
	code, body := get(sick, "/readyz")
	if code != 503 || strings.TrimSpace(body) != `{"status":"unavailable"}` {
		t.Fatalf("readyz with Temporal down = %d %s", code, body)
	}
	code, body = get(sick, "/readyz?verbose=1")
	if code != 503 || !strings.Contains(body, `"temporal":"unavailable"`) {
		t.Fatalf("readyz?verbose=1 with Temporal down = %d %s", code, body)
	}
	if code, _ := get(healthy, "/nope"); code != 404 {
		t.Fatalf("unknown path = %d", code)
	}
}
