package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/workflows"
)

const intercomSecret = "intercom-client-secret-for-tests"

// fakeExecutor records ExecuteWorkflow calls.
type fakeExecutor struct {
	mu    sync.Mutex
	calls []executeCall
	err   error
}

type executeCall struct {
	Options client.StartWorkflowOptions
	Input   workflows.EnrichInput
	// Tag is the input of a TagResync start.
	Tag workflows.TagResyncInput
}

func (f *fakeExecutor) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any,
	args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	call := executeCall{Options: opts}
	switch in := args[0].(type) {
	case workflows.EnrichInput:
		call.Input = in
	case workflows.TagResyncInput:
		call.Tag = in
	default:
		panic(fmt.Sprintf("unexpected workflow input %T", in))
	}
	f.calls = append(f.calls, call)
	return nil, nil
}

func newIntercomHandler(t *testing.T, s WorkflowStarter, secret string) (*IntercomHandler, *logtest.Hook) {
	t.Helper()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	h, err := NewIntercomHandler(secret, s, Queues{Workflows: "q", Intercom: "q-intercom"}, time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	return h, hook
}

func hubSigned(body []byte) http.Header {
	h := http.Header{}
	h.Set(intercom.SignatureHeader, intercom.Signature([]byte(intercomSecret), body))
	return h
}

func postTo(t *testing.T, h http.Handler, path string, body []byte, hdr http.Header) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response is not JSON (%d): %q", rec.Code, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	return rec, out
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/intercom/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isReceived(out map[string]any) bool { return len(out) == 1 && out["received"] == true }

// The contact comes from the source's author when a user or lead wrote
// it, else from the conversation's first contact; an admin is never taken
// for the contact, whether they started the conversation or wrote a part.
func TestIntercomNotificationStartsEnrichment(t *testing.T) {
	for _, tc := range []struct {
		fixture, notification, contact, conversation string
	}{
		{"conversation.user.created", "notif_5c4b8a9e-0b1a-4f4e-9c57-6f1d2f0c1a01", "67eb0a6e8f72a828ba21c342", "184"},
		// Admin-initiated conversation, an admin note as the last part: the
		// contact is contacts[0].
		{"conversation.user.replied", "notif_7d2e1f30-5a6b-4c8d-9e0f-112233445566", "67eb0a6e8f72a828ba21c399", "185"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			body := fixture(t, tc.fixture)
			starter := &fakeExecutor{}
			h, hook := newIntercomHandler(t, starter, intercomSecret)
			rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
			if rec.Code != http.StatusOK || !isReceived(out) {
				t.Fatalf("%d %v", rec.Code, out)
			}
			if len(starter.calls) != 1 {
				t.Fatalf("%d starts, want 1", len(starter.calls))
			}
			c := starter.calls[0]
			if c.Options.ID != "enrich/"+tc.contact || c.Options.TaskQueue != "q" ||
				c.Options.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
				t.Fatalf("options %+v", c.Options)
			}
			want := workflows.EnrichInput{NotificationID: tc.notification, Topic: tc.fixture, ContactID: tc.contact,
				ConversationID: tc.conversation, IntercomTaskQueue: "q-intercom"}
			if c.Input != want {
				t.Fatalf("input %+v\nwant  %+v", c.Input, want)
			}
			// One line names the notification, topic and contact; no line
			// carries an email.
			accepted := false
			for _, e := range hook.AllEntries() {
				if e.Message == "Accepted Intercom notification" && e.Data["notification_id"] == tc.notification &&
					e.Data["topic"] == tc.fixture && e.Data["contact_id"] == tc.contact {
					accepted = true
				}
				line, _ := e.String()
				if strings.Contains(line, "@") {
					t.Errorf("log line carries an email: %s", line)
				}
			}
			if !accepted {
				t.Fatalf("no accepted line in %d entries", len(hook.AllEntries()))
			}
		})
	}
}

func TestIntercomContactIDSources(t *testing.T) {
	for _, tc := range []struct {
		name, item, want string
	}{
		{"lead author", `{"id":"1","source":{"author":{"type":"lead","id":"lead_1"}},"contacts":{"contacts":[{"id":"c_9"}]}}`, "lead_1"},
		{"author missing", `{"id":"1","contacts":{"contacts":[{"id":"c_9"}]}}`, "c_9"},
		{"admin author, contacts fallback", `{"id":"1","source":{"author":{"type":"admin","id":"5017691"}},"contacts":{"contacts":[{"id":"c_9"},{"id":"c_10"}]}}`, "c_9"},
		{"admin only: ignored", `{"id":"1","source":{"author":{"type":"admin","id":"5017691"}},"contacts":{"contacts":[]}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"type":"notification_event","id":"notif_x","topic":"conversation.user.replied","data":{"item":` + tc.item + `}}`)
			starter := &fakeExecutor{}
			h, _ := newIntercomHandler(t, starter, intercomSecret)
			rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
			if rec.Code != http.StatusOK || !isReceived(out) {
				t.Fatalf("%d %v", rec.Code, out)
			}
			if tc.want == "" {
				if len(starter.calls) != 0 {
					t.Fatalf("started %+v for a conversation without a contact", starter.calls)
				}
				return
			}
			if len(starter.calls) != 1 || starter.calls[0].Input.ContactID != tc.want {
				t.Fatalf("calls %+v, want contact %s", starter.calls, tc.want)
			}
		})
	}
}

func TestIntercomPingAndOtherTopicsAreAcknowledged(t *testing.T) {
	for _, body := range [][]byte{
		fixture(t, "ping"),
		[]byte(`{"type":"notification_event","id":"notif_t","topic":"conversation_part.tag.created","data":{"item":{"type":"conversation","id":"1"}}}`),
		[]byte(`{"type":"notification_event","id":"notif_c","topic":"contact.user.created","data":{"item":{"type":"contact","id":"c"}}}`),
		[]byte(`{"type":"notification_event","topic":"ping"}`), // a ping without id or data
	} {
		starter := &fakeExecutor{}
		h, hook := newIntercomHandler(t, starter, intercomSecret)
		rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
		if rec.Code != http.StatusOK || !isReceived(out) || len(starter.calls) != 0 {
			t.Fatalf("%s: %d %v, %d starts", body, rec.Code, out, len(starter.calls))
		}
		if e := hook.LastEntry(); e == nil || e.Data["topic"] == nil {
			t.Fatalf("%s: not logged with its topic", body)
		}
	}
}

// An unsigned or wrongly signed request is 401: there is no environment
// in which a webhook goes unchecked.
func TestIntercomSignature(t *testing.T) {
	body := fixture(t, "conversation.user.created")
	wrong := http.Header{}
	wrong.Set(intercom.SignatureHeader, intercom.Signature([]byte("another-secret"), body))
	garbage := http.Header{}
	garbage.Set(intercom.SignatureHeader, "sha1=nothex")
	empty := http.Header{}
	empty.Set(intercom.SignatureHeader, "")
	for _, tc := range []struct {
		name string
		body []byte
		hdr  http.Header
		want int
	}{
		{"good", body, hubSigned(body), 200},
		{"missing", body, http.Header{}, 401},
		{"empty", body, empty, 401},
		{"wrong secret", body, wrong, 401},
		{"garbage", body, garbage, 401},
		{"body changed after signing", append(bytes.Clone(body), ' '), hubSigned(body), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			starter := &fakeExecutor{}
			h, _ := newIntercomHandler(t, starter, intercomSecret)
			rec, out := postTo(t, h, "/api/intercom/webhook", tc.body, tc.hdr)
			if rec.Code != tc.want {
				t.Fatalf("%d %v, want %d", rec.Code, out, tc.want)
			}
			if tc.want == 401 && (len(starter.calls) != 0 || out["error"] == "") {
				t.Fatalf("rejected request: %v, %d starts", out, len(starter.calls))
			}
			if tc.want == 200 && len(starter.calls) != 1 {
				t.Fatalf("%d starts", len(starter.calls))
			}
		})
	}
}

// Without INTERCOM_WEBHOOK_SECRET the endpoint fails closed: 503 naming the
// setting for every request, signed or not, and nothing is started.
func TestIntercomWithoutSecretFailsClosed(t *testing.T) {
	body := fixture(t, "conversation.user.created")
	ping := []byte(`{"type":"notification_event","topic":"ping"}`)
	for name, req := range map[string]struct {
		body []byte
		hdr  http.Header
	}{
		"unsigned":      {body, http.Header{}},
		"signed":        {body, hubSigned(body)},
		"unsigned ping": {ping, http.Header{}},
	} {
		starter := &fakeExecutor{}
		h, _ := newIntercomHandler(t, starter, "")
		rec, out := postTo(t, h, "/api/intercom/webhook", req.body, req.hdr)
		if rec.Code != http.StatusServiceUnavailable || out["error"] != "INTERCOM_WEBHOOK_SECRET not configured" || len(starter.calls) != 0 {
			t.Errorf("%s: %d %v, %d starts; want 503 INTERCOM_WEBHOOK_SECRET not configured", name, rec.Code, out, len(starter.calls))
		}
	}
}

func TestIntercomRejections(t *testing.T) {
	big := append([]byte(`{"topic":"ping","pad":"`), bytes.Repeat([]byte("x"), MaxBodyBytes)...)
	big = append(big, `"}`...)
	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"over 1 MiB", big, http.StatusRequestEntityTooLarge},
		{"malformed JSON", []byte(`{"topic":"conversation.user.created","data":`), http.StatusBadRequest},
		{"not an object", []byte(`["ping"]`), http.StatusBadRequest},
		{"no topic", []byte(`{"id":"notif_1","data":{"item":{}}}`), http.StatusBadRequest},
		{"no notification id", []byte(`{"topic":"conversation.user.created","data":{"item":{"id":"1","contacts":{"contacts":[{"id":"c"}]}}}}`), http.StatusBadRequest},
		{"no item", []byte(`{"id":"notif_1","topic":"conversation.user.created","data":{}}`), http.StatusBadRequest},
		{"item not a conversation", []byte(`{"id":"notif_1","topic":"conversation.user.created","data":{"item":"x"}}`), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			starter := &fakeExecutor{}
			h, _ := newIntercomHandler(t, starter, intercomSecret)
			rec, out := postTo(t, h, "/api/intercom/webhook", tc.body, hubSigned(tc.body))
			if rec.Code != tc.want {
				t.Fatalf("%d %v, want %d", rec.Code, out, tc.want)
			}
			if msg, _ := out["error"].(string); msg == "" || len(starter.calls) != 0 {
				t.Fatalf("%v, %d starts", out, len(starter.calls))
			}
		})
	}
}

// 200 only once Temporal has the start; otherwise 503 so Intercom retries.
func TestIntercomTemporalFailureIs503(t *testing.T) {
	body := fixture(t, "conversation.user.created")
	h, _ := newIntercomHandler(t, &fakeExecutor{err: errors.New("unavailable")}, intercomSecret)
	rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
	if rec.Code != http.StatusServiceUnavailable || out["error"] == "" || out["received"] != nil {
		t.Fatalf("%d %v", rec.Code, out)
	}

	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, _ = newIntercomHandler(t, c, intercomSecret)
	start := time.Now()
	rec, out = postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%d %v, want 503", rec.Code, out)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("answered after %s; the handler's timeout is 1s", took)
	}
}

func TestIntercomRoutes(t *testing.T) {
	body := fixture(t, "ping")
	h, _ := newIntercomHandler(t, &fakeExecutor{}, intercomSecret)
	r := Routes{Clerk: http.NotFoundHandler(), Intercom: h}.Router()
	if rec, out := postTo(t, r, "/api/intercom/webhook", body, hubSigned(body)); rec.Code != 200 || !isReceived(out) {
		t.Fatalf("%d %v", rec.Code, out)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/intercom/webhook", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET = %d", rec.Code)
	}
	// Without handlers the routes do not exist.
	rec = httptest.NewRecorder()
	Routes{Clerk: http.NotFoundHandler()}.Router().ServeHTTP(rec,
		httptest.NewRequest(http.MethodPost, "/api/intercom/lookup-email", strings.NewReader(`{}`)))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("lookup without handler = %d, want 404", rec.Code)
	}
}

// A workspace whose webhooks follow API 1.x sends conversations with
// item.user instead of source/contacts: acknowledged (a redelivery would
// not read better), counted by topic, logged without personal data.
func TestIntercomNotificationOfAnUnsupportedVersionIsCounted(t *testing.T) {
	body := []byte(`{"type":"notification_event","id":"notif_v1","topic":"conversation.user.created","app_id":"abc",` +
		`"data":{"item":{"type":"conversation","id":"147","user":{"type":"user","id":"5310d8e7598c9a0b24000002","email":"jane@example.com","name":"Jane"},` +
		`"conversation_message":{"type":"conversation_message","body":"<p>hi</p>","author":{"type":"user","id":"5310d8e7598c9a0b24000002"}}}}}`)
	m := metrics.New()
	starter := &fakeExecutor{}
	log, hook := logtest.NewNullLogger()
	h, err := NewIntercomHandler(intercomSecret, starter, Queues{Workflows: "q", Intercom: "q-intercom"}, time.Second, log, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
		if rec.Code != http.StatusOK || out["received"] != true || out["ignored"] != true || len(starter.calls) != 0 {
			t.Fatalf("%d %v, %d starts; want 200, ignored, no start", rec.Code, out, len(starter.calls))
		}
		if got := unsupportedCount(t, m, "conversation.user.created"); got != float64(i) {
			t.Fatalf("after %d notifications the counter is %v", i, got)
		}
	}
	e := hook.LastEntry()
	if e == nil || e.Data["topic"] != "conversation.user.created" || e.Data["notification_id"] != "notif_v1" {
		t.Fatalf("logged %+v, want the topic and notification id", e)
	}
	for _, e := range hook.AllEntries() {
		if line, _ := e.String(); strings.Contains(line, "jane") || strings.Contains(line, "Jane") || strings.Contains(line, "5310d8e7") {
			t.Fatalf("personal data logged: %s", line)
		}
	}

	// A 2.x conversation about no contact is still a plain acknowledgement.
	body2 := []byte(`{"type":"notification_event","id":"notif_x","topic":"conversation.user.replied","data":{"item":{"id":"1","source":{"author":{"type":"admin","id":"1"}},"contacts":{"contacts":[]}}}}`)
	if rec, out := postTo(t, h, "/api/intercom/webhook", body2, hubSigned(body2)); rec.Code != http.StatusOK || !isReceived(out) ||
		unsupportedCount(t, m, "conversation.user.replied") != 0 {
		t.Fatalf("2.x conversation without a contact: %d %v", rec.Code, out)
	}
}

// unsupportedCount reads intercom_sync_intercom_notifications_unsupported_total{topic}
// as /metrics would serve it.
func unsupportedCount(t *testing.T, m *metrics.Metrics, topic string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "intercom_sync_intercom_notifications_unsupported_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "topic" && l.GetValue() == topic {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
