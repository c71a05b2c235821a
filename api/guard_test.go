package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
)

// Over HTTP_MAX_IN_FLIGHT a request is answered 503 with Retry-After at
// once (never queued); the probes still answer; a freed slot is reused.
func TestInFlightCap(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	blocking := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	log, hook := logtest.NewNullLogger()
	srv := httptest.NewServer(Routes{Clerk: blocking, MaxInFlight: 2, Log: log}.Router())
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	post := func() (*http.Response, error) {
		return http.Post(srv.URL+"/webhooks/clerk", "application/json", strings.NewReader(`{}`))
	}
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := post()
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the first two requests did not reach the handler")
		}
	}

	start := time.Now()
	resp, err := post()
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || out["error"] == "" {
		t.Fatalf("third request = %d Retry-After %q %v; want 503 with Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the refusal took %s: it must not wait for a slot", took)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || e.Data["route"] != "/webhooks/clerk" {
		t.Fatalf("refusal not logged with its route: %+v", e)
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz while saturated: %v %v", resp, err)
	}

	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("a request within the cap answered %d", c)
		}
	}
	go func() { <-entered }()
	if resp, err := post(); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the slots were freed: %v %v", resp, err)
	}
}

// A panicking handler answers a JSON 500 and logs one structured line,
// without the panic's value (it may carry personal data); the server goes
// on serving.
func TestPanicBecomesJSON500(t *testing.T) {
	const email = "ada.lovelace@example.com"
	panicky := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("cannot sync " + email + " +1 765 465 7031")
	})
	log, hook := logtest.NewNullLogger()
	srv := httptest.NewServer(Routes{Clerk: panicky, Log: log}.Router())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/webhooks/clerk", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/json" ||
		strings.TrimSpace(string(body)) != `{"error":"internal error"}` {
		t.Fatalf("panic answered %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	entries := hook.AllEntries()
	if len(entries) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(entries), entries)
	}
	e := entries[0]
	if e.Level != logrus.ErrorLevel || e.Data["route"] != "/webhooks/clerk" || e.Data["method"] != "POST" ||
		e.Data["panic_type"] != "string" || !strings.Contains(e.Data["stack"].(string), "TestPanicBecomesJSON500") {
		t.Fatalf("log line %s %v", e.Message, e.Data)
	}
	line, _ := e.String()
	if strings.Contains(line, email) || strings.Contains(line, "465") {
		t.Fatalf("the log line carries the panic's value: %s", line)
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic: %v %v", resp, err)
	}
}

// An entity id Temporal could not take (a workflow id is at most 1000
// bytes by default) or that is not a plain string is the sender's
// mistake: 400 naming why, nothing started, never a 503 to be retried.
func TestClerkEntityIDTemporalCannotTake(t *testing.T) {
	for name, id := range map[string]string{
		"2,000 characters":   "user_" + strings.Repeat("x", 1995),
		"256 bytes":          strings.Repeat("u", 256),
		"control characters": "user_1\n{\"level\":\"fatal\"}",
		"NUL":                "user_\x00",
	} {
		t.Run(name, func(t *testing.T) {
			body := clerksim.UserEvent(clerk.UserUpdated, clerksim.User{ID: id, UpdatedAtMs: 1})
			starter := &fakeStarter{}
			log, hook := logtest.NewNullLogger()
			h, err := NewClerkHandler(testSecret, starter, Queues{Workflows: "q"}, time.Second, log)
			if err != nil {
				t.Fatal(err)
			}
			rec, out := post(t, h, body, signed(t, "msg_long", body))
			if rec.Code != http.StatusBadRequest || len(starter.calls) != 0 {
				t.Fatalf("%d %v, %d starts; want 400 and nothing started", rec.Code, out, len(starter.calls))
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, "entity id") {
				t.Fatalf("error %q does not say what is wrong", msg)
			}
			for _, e := range hook.AllEntries() {
				if s, _ := e.Data["entity_id"].(string); len(s) > MaxEntityIDBytes+len("...") || strings.ContainsAny(s, "\n\x00") {
					t.Fatalf("the log carries the raw id: %q", s)
				}
			}
		})
	}
	// 255 bytes is still taken.
	id := "user_" + strings.Repeat("y", MaxEntityIDBytes-5)
	body := clerksim.UserEvent(clerk.UserUpdated, clerksim.User{ID: id, UpdatedAtMs: 1})
	starter := &fakeStarter{}
	if rec, out := post(t, newHandler(t, starter), body, signed(t, "msg_255", body)); rec.Code != 200 || len(starter.calls) != 1 {
		t.Fatalf("a 255-byte id: %d %v", rec.Code, out)
	}
}

func TestIntercomContactIDTemporalCannotTake(t *testing.T) {
	long := strings.Repeat("c", 2000)
	body := []byte(`{"type":"notification_event","id":"notif_long","topic":"conversation.user.created","data":{"item":{"type":"conversation","id":"1","contacts":{"contacts":[{"id":"` + long + `"}]}}}}`)
	starter := &fakeExecutor{}
	h, _ := newIntercomHandler(t, starter, intercomSecret)
	rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
	if rec.Code != http.StatusBadRequest || len(starter.calls) != 0 {
		t.Fatalf("%d %v, %d starts; want 400", rec.Code, out, len(starter.calls))
	}
}
