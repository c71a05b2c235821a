// Package metrics is the service's Prometheus instrumentation, served on
// /metrics: webhooks received and rejected, workflow starts, Intercom calls,
// rate-limit waits, HTTP latency (the lookup API's among them), and the
// Temporal SDK's own metrics through the same registry.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	Registry *prometheus.Registry

	WebhooksReceived     *prometheus.CounterVec   // source
	WebhooksRejected     *prometheus.CounterVec   // source, reason
	WorkflowStarts       *prometheus.CounterVec   // workflow_type, result
	IntercomCalls        *prometheus.CounterVec   // method, endpoint, status
	IntercomCallDuration *prometheus.HistogramVec // method, endpoint
	RateLimitWaits       prometheus.Counter
	RateLimitWaitSeconds prometheus.Counter
	HTTPDuration         *prometheus.HistogramVec // route, code
	// IntercomAttributesRefused counts custom data attributes Intercom
	// refused to create; the sync writes without them.
	IntercomAttributesRefused *prometheus.CounterVec // model, attribute
	// IntercomNotificationsUnsupported counts Intercom notifications
	// acknowledged but ignored because their payload is of an API version
	// the service does not read (e.g. 1.x conversations).
	IntercomNotificationsUnsupported *prometheus.CounterVec // topic
	// MemberNumbersInvalid counts member numbers the tag-based re-sync
	// refused: not 1 to members.MaxNumberLen digits.
	MemberNumbersInvalid prometheus.Counter

	temporalScope tally.Scope
}

// New registers every collector (plus Go runtime and process metrics) on
// a fresh registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		WebhooksReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intercom_sync_webhooks_received_total",
			Help: "Webhook requests received, by source (clerk, intercom).",
		}, []string{"source"}),
		WebhooksRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intercom_sync_webhooks_rejected_total",
			Help: "Webhook requests not accepted, by source and reason (bad_signature, malformed, too_large, unavailable, other).",
		}, []string{"source", "reason"}),
		WorkflowStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intercom_sync_workflow_starts_total",
			Help: "Workflow starts and signal-with-starts by the API, by workflow type and result (ok, error).",
		}, []string{"workflow_type", "result"}),
		IntercomCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intercom_sync_intercom_calls_total",
			Help: "Intercom API calls, by method, endpoint template and HTTP status (0: no answer).",
		}, []string{"method", "endpoint", "status"}),
		IntercomCallDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "intercom_sync_intercom_call_duration_seconds",
			Help:    "Intercom API call latency.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "endpoint"}),
		RateLimitWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "intercom_sync_intercom_rate_limit_waits_total",
			Help: "Times a call waited for Intercom's rate-limit window (X-RateLimit-Remaining pacing).",
		}),
		RateLimitWaitSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "intercom_sync_intercom_rate_limit_wait_seconds_total",
			Help: "Time spent waiting for Intercom's rate-limit window.",
		}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "intercom_sync_http_request_duration_seconds",
			Help:    "HTTP API latency by route (e.g. /api/intercom/lookup-email) and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "code"}),
		IntercomAttributesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intercom_sync_intercom_attributes_refused_total",
			Help: "Custom data attributes Intercom refused to create, by model and attribute; they are left out of writes.",
		}, []string{"model", "attribute"}),
		IntercomNotificationsUnsupported: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intercom_sync_intercom_notifications_unsupported_total",
			Help: "Intercom notifications ignored because their payload follows an unsupported API version (set the app's webhooks to 2.x), by topic.",
		}, []string{"topic"}),
		MemberNumbersInvalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "intercom_sync_member_numbers_invalid_total",
			Help: "Member numbers in conversation attributes the tag-based re-sync refused (not 1 to 20 digits); the re-sync stops with invalid_member_number and the tag stays.",
		}),
	}
	reg.MustRegister(m.MemberNumbersInvalid, m.IntercomAttributesRefused, m.IntercomNotificationsUnsupported, m.WebhooksReceived, m.WebhooksRejected, m.WorkflowStarts, m.IntercomCalls,
		m.IntercomCallDuration, m.RateLimitWaits, m.RateLimitWaitSeconds, m.HTTPDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ObserveIntercom records one Intercom call (intercom.Client.Observe).
func (m *Metrics) ObserveIntercom(method, endpoint string, status int, took time.Duration) {
	m.IntercomCalls.WithLabelValues(method, endpoint, strconv.Itoa(status)).Inc()
	m.IntercomCallDuration.WithLabelValues(method, endpoint).Observe(took.Seconds())
}

// ObserveRateLimitWait records a pacing wait (intercom.Client.ObserveWait).
func (m *Metrics) ObserveRateLimitWait(d time.Duration) {
	m.RateLimitWaits.Inc()
	m.RateLimitWaitSeconds.Add(d.Seconds())
}

// Temporal returns a handler for client.Options.MetricsHandler, so the
// SDK's own metrics (workflow task latency, activity schedule-to-start,
// poller counts, …) are served on /metrics too, prefixed temporal_.
func (m *Metrics) Temporal() client.MetricsHandler {
	if m.temporalScope == nil {
		reporter := tallyprom.NewReporter(tallyprom.Options{Registerer: m.Registry})
		safe := tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: []rune{'_'}}
		scope, _ := tally.NewRootScope(tally.ScopeOptions{
			CachedReporter: reporter,
			Separator:      tallyprom.DefaultSeparator,
			SanitizeOptions: &tally.SanitizeOptions{
				NameCharacters: safe, KeyCharacters: safe, ValueCharacters: safe,
				ReplacementCharacter: tally.DefaultReplacementCharacter,
			},
		}, time.Second)
		m.temporalScope = scope
	}
	return sdktally.NewMetricsHandler(m.temporalScope)
}

// webhookSources maps webhook routes to their source label.
var webhookSources = map[string]string{
	"/webhooks/clerk":       "clerk",
	"/api/intercom/webhook": "intercom",
}

// Middleware times every request by route template and counts webhook
// requests and rejections by status.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unmatched"
		if cur := mux.CurrentRoute(r); cur != nil {
			if tpl, err := cur.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		m.HTTPDuration.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
		if source, ok := webhookSources[route]; ok {
			m.WebhooksReceived.WithLabelValues(source).Inc()
			if reason := rejectReason(rec.status); reason != "" {
				m.WebhooksRejected.WithLabelValues(source, reason).Inc()
			}
		}
	})
}

func rejectReason(status int) string {
	switch {
	case status < 300:
		return ""
	case status == http.StatusBadRequest:
		return "malformed"
	case status == http.StatusUnauthorized:
		return "bad_signature"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	default:
		return "other"
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// CountingClient counts the workflow starts the API makes through a
// Temporal client.
type CountingClient struct {
	client.Client
	M *Metrics
}

func (c CountingClient) count(workflowType string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.M.WorkflowStarts.WithLabelValues(workflowType, result).Inc()
}

func typeName(wf any) string {
	if s, ok := wf.(string); ok {
		return s
	}
	return workflowName(wf)
}

// SignalWithStartWorkflow counts, then delegates.
func (c CountingClient) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error) {
	run, err := c.Client.SignalWithStartWorkflow(ctx, workflowID, signalName, signalArg, options, workflow, workflowArgs...)
	c.count(typeName(workflow), err)
	return run, err
}

// ExecuteWorkflow counts, then delegates.
func (c CountingClient) ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any,
	args ...any) (client.WorkflowRun, error) {
	run, err := c.Client.ExecuteWorkflow(ctx, options, workflow, args...)
	c.count(typeName(workflow), err)
	return run, err
}
