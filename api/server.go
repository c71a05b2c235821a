package api

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
)

// Check is one readiness dependency.
type Check struct {
	Name  string
	Check func(context.Context) error
}

// TemporalCheck is the readiness check of a Temporal client: the frontend
// answers a health check.
func TemporalCheck(c interface {
	CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}) Check {
	return Check{Name: "temporal", Check: func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// Routes builds the API router. A nil handler leaves its route out.
type Routes struct {
	Clerk    http.Handler
	Intercom http.Handler // POST /api/intercom/webhook
	Lookup   http.Handler // POST /api/intercom/lookup-email
	// Codec serves POST /codec/encode and /codec/decode (and their CORS
	// preflight); nil when no payload keys are configured.
	Codec  http.Handler
	Checks []Check
	// Metrics, if set, serves GET /metrics; Middleware wraps every route
	// (timing, webhook counters).
	Metrics    http.Handler
	Middleware mux.MiddlewareFunc
	// MaxInFlight caps the requests served at once (the probes and
	// /metrics aside); over it a request is answered 503 with
	// Retry-After. 0: DefaultMaxInFlight.
	MaxInFlight int
	// Log receives the refusals and panics (nil: discarded).
	Log logrus.FieldLogger
}

// Router returns the mux with every route.
func (rt Routes) Router() *mux.Router {
	r := mux.NewRouter()
	r.Handle("/webhooks/clerk", rt.Clerk).Methods(http.MethodPost)
	if rt.Intercom != nil {
		r.Handle("/api/intercom/webhook", rt.Intercom).Methods(http.MethodPost)
	}
	if rt.Lookup != nil {
		r.Handle("/api/intercom/lookup-email", rt.Lookup).Methods(http.MethodPost)
	}
	if rt.Codec != nil {
		r.Handle("/codec/{operation:encode|decode}", rt.Codec).Methods(http.MethodPost, http.MethodOptions)
	}
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", rt.ready).Methods(http.MethodGet)
	if rt.Metrics != nil {
		r.Handle("/metrics", rt.Metrics).Methods(http.MethodGet)
	}
	log := rt.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	maxInFlight := rt.MaxInFlight
	if maxInFlight <= 0 {
		maxInFlight = DefaultMaxInFlight
	}
	// Outermost first: the metrics see the refusals and the 500s.
	if rt.Middleware != nil {
		r.Use(rt.Middleware)
	}
	r.Use(limitInFlight(maxInFlight, log), recoverPanics(log))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	return r
}

// ready answers 200 when every dependency answers within 2 s, else 503
// naming the ones that did not.
func (rt Routes) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	ok := true
	for _, c := range rt.Checks {
		if err := c.Check(ctx); err != nil {
			status[c.Name] = "unavailable"
			ok = false
		} else {
			status[c.Name] = "ok"
		}
	}
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": status})
}
