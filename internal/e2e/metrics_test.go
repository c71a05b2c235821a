package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// scrape reads /metrics and returns the value of the first sample whose
// line starts with name and contains every label given.
func (s *stack) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(s.api.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(b)
}

func sample(text, name string, labels ...string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	var total float64
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[1], l)
		}
		if ok {
			v, _ := strconv.ParseFloat(m[2], 64)
			total += v
		}
	}
	return total
}

// A scrape after a sync shows the counters moved: webhooks received and
// rejected, the workflow start, Intercom calls, HTTP latency, and the
// Temporal SDK's own metrics.
func TestMetricsMoveAfterASync(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	before := s.scrape(t)
	if v := sample(before, "intercom_sync_webhooks_received_total", `source="clerk"`); v != 0 {
		t.Fatalf("received before any webhook = %v", v)
	}
	user := clerksim.User{ID: s.id("user", "metrics"), Email: "m@example.com", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("1", clerksim.UserEvent(clerk.UserCreated, user))
	s.waitIdle(idle, workflows.UserWorkflowID(user.ID))
	// A bad signature is counted as a rejection.
	resp, err := http.Post(s.sender.URL, "application/json", strings.NewReader(`{"type":"user.created"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"intercom_sync_webhooks_received_total", []string{`source="clerk"`}, 2},
		{"intercom_sync_webhooks_rejected_total", []string{`source="clerk"`, `reason="bad_signature"`}, 1},
		{"intercom_sync_workflow_starts_total", []string{`workflow_type="SyncUser"`, `result="ok"`}, 1},
		{"intercom_sync_intercom_calls_total", []string{`endpoint="/contacts"`, `method="POST"`, `status="200"`}, 1},
		{"intercom_sync_intercom_call_duration_seconds_count", []string{`endpoint="/contacts"`}, 1},
		{"intercom_sync_http_request_duration_seconds_count", []string{`route="/webhooks/clerk"`, `code="200"`}, 1},
		{"temporal_workflow_completed", nil, 1},
		{"temporal_activity_execution_latency_count", []string{`activity_type="PushUser"`}, 1},
	}
	// The SDK's metrics reach the registry on tally's 1-second report
	// interval: scrape until everything shows, for a few seconds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := s.scrape(t)
		var missing []string
		for _, c := range checks {
			if v := sample(after, c.name, c.labels...); v < c.min {
				missing = append(missing, fmt.Sprintf("%s%v = %v, want ≥ %v", c.name, c.labels, v, c.min))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a sync:\n%s", strings.Join(missing, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
