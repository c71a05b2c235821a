package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// lockedBuffer is a log sink the service's goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// TestLogsHoldNoPersonalDataOrSecrets captures every log line of a full
// run — the service's and the Temporal SDK's, at debug level, in the
// production JSON format — through every event type, an enrichment, a
// tag re-sync, lookups and failures (Intercom answering 500s, refused
// signatures, bad and oversized bodies, a hostile id), and finds in them
// no email, name, phone, metadata, token or secret.
func TestLogsHoldNoPersonalDataOrSecrets(t *testing.T) {
	t.Parallel()
	sink := &lockedBuffer{}
	log := logrus.New()
	log.SetOutput(sink)
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetLevel(logrus.DebugLevel)
	s := newStack(t, stackOptions{log: log})

	// Every event type, an invitation, an enrichment (personal data flows).
	f := runPersonalDataFlows(s)

	// A user with what the sync never needs: phones, metadata.
	const privateSecret, unsafeSecret, phone = "pm-s3cr3t-value-1234", "um-s3cr3t-value-5678", "+15550104477"
	meta := clerksim.User{ID: s.id("user", "meta"), Email: "meta.person@example.com", FirstName: "Metadora",
		CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	body := withData(t, clerksim.UserEvent(clerk.UserCreated, meta), map[string]any{
		"private_metadata": map[string]any{"ssn": privateSecret},
		"unsafe_metadata":  map[string]any{"note": unsafeSecret},
		"phone_numbers":    []any{map[string]any{"id": "idn_1", "phone_number": phone}},
	})
	// Intercom failing meanwhile: the retries log their errors.
	s.emulator.SetFaults(emulator.Faults{ServerErrorRate: 0.6})
	s.send("logs-meta", body)
	time.Sleep(3 * time.Second)
	s.emulator.SetFaults(emulator.Faults{})
	s.waitIdle(idle, workflows.UserWorkflowID(meta.ID))
	s.send("logs-meta-del", clerksim.UserEvent(clerk.UserDeleted, meta))
	s.waitIdle(idle, workflows.UserWorkflowID(meta.ID))

	// A tag re-sync of the member's conversation.
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"})
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagPart, tag, map[string]any{"Member Number Verification": "100001"}))
	s.mustResync(conv.ID, activities.ResyncSynced)

	// Lookups: found, not found, unauthenticated.
	s.lookupStatus(t, lookupToken, `{"email":"KEN@example.com"}`, http.StatusOK)
	s.lookupStatus(t, lookupToken, `{"email":"nobody.here@example.com"}`, http.StatusOK)
	s.lookupStatus(t, "wrong-token", `{"email":"ken@example.com"}`, http.StatusUnauthorized)

	// Refusals, with attacker-chosen values.
	hostile := strings.Repeat("x", 2000) + `" level=error msg="forged`
	post := func(path string, header http.Header, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, s.api.URL+path, bytes.NewReader(body))
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := clerksim.UserEvent(clerk.UserUpdated, clerksim.User{ID: "user_" + strings.Repeat("y", 2000), Email: "long.id@example.com"})
	if resp, err := s.sender.Send(t.Context(), "logs-longid", signed); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a 2,000-character id: %v %v, want 400", resp, err)
	}
	if code := post("/webhooks/clerk", http.Header{"Svix-Id": {hostile}, "Svix-Timestamp": {"1"}, "Svix-Signature": {"v1,AAAA"}},
		clerksim.UserEvent(clerk.UserCreated, meta)); code != http.StatusUnauthorized {
		t.Fatalf("forged Clerk signature: %d", code)
	}
	if code := post("/api/intercom/webhook", http.Header{"X-Hub-Signature": {"sha1=" + hostile}},
		conversationNotification("n", "conversation.user.created", "c")); code != http.StatusUnauthorized {
		t.Fatalf("forged Intercom signature: %d", code)
	}
	if code := post("/api/intercom/lookup-email", http.Header{"Authorization": {"Bearer " + lookupToken}},
		[]byte(`{"email":`)); code != http.StatusBadRequest {
		t.Fatalf("invalid JSON lookup: %d", code)
	}
	if code := post("/api/intercom/lookup-email", http.Header{"Authorization": {"Bearer " + lookupToken}},
		bytes.Repeat([]byte("a"), 2<<20)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized lookup: %d", code)
	}

	logs := sink.Bytes()
	// The logs are there, and they name what happened by id.
	for _, want := range []string{meta.ID, "Accepted Clerk event", conv.ID, "error"} {
		if !bytes.Contains(logs, []byte(want)) {
			t.Fatalf("the logs lack %q: the capture is cut off (%d bytes)", want, len(logs))
		}
	}
	f.emails = append(f.emails, meta.Email, "long.id@example.com", "nobody.here@example.com", "ken@example.com")
	f.others = append(f.others, "Metadora", privateSecret, unsafeSecret, phone, phone[2:],
		clerkSecret, strings.TrimPrefix(clerkSecret, "whsec_"), intercomWebhookSecret, lookupToken, intercomToken)
	for _, e := range f.emails {
		f.others = append(f.others, url.QueryEscape(e), jsonEscaped(e))
	}
	if leaks := f.leaks(logs); len(leaks) > 0 {
		t.Errorf("the logs hold %q", leaks)
		for _, line := range bytes.Split(logs, []byte("\n")) {
			if len(f.leaks(line)) > 0 {
				t.Logf("%s", line)
			}
		}
	}
	// Attacker-chosen values are bounded and cannot forge a line.
	for _, line := range bytes.Split(logs, []byte("\n")) {
		if bytes.Contains(line, bytes.Repeat([]byte("x"), 300)) || bytes.Contains(line, bytes.Repeat([]byte("y"), 300)) {
			t.Errorf("an attacker-supplied value is logged untruncated: %.200s…", line)
		}
	}
}

func (s *stack) lookupStatus(t *testing.T, token, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.api.URL+"/api/intercom/lookup-email", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("lookup %s: %d, want %d", body, resp.StatusCode, want)
	}
}

// withData sets fields of a Clerk event body's data object.
func withData(t *testing.T, body []byte, fields map[string]any) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	data := ev["data"].(map[string]any)
	for k, v := range fields {
		data[k] = v
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
