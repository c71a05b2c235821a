package api

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
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

// Routes builds the API routers. A nil handler leaves its route out.
//
// The routes fall in two groups. The public ones are what webhook senders
// and the kubelet need: the webhooks, /healthz and /readyz. The internal
// ones are for support tools and monitoring inside the cluster: the
// member lookup and /metrics (add further internal-only routes in
// addInternal). Router serves both on one listener; PublicRouter and
// InternalRouter serve them apart (INTERNAL_HTTP_ADDR).
type Routes struct {
	Clerk    http.Handler
	Intercom http.Handler // POST /api/intercom/webhook
	Lookup   http.Handler // POST /api/intercom/lookup-email (internal)
	// Checks decide /readyz: 200 when every one answers. Intake needs
	// Temporal only, so production puts the Temporal check here.
	Checks []Check
	// Dependencies are reported by /readyz?verbose=1 next to Checks but
	// do not decide readiness (the databases the lookup and the workers
	// read).
	Dependencies []Check
	// Codec serves POST /codec/encode and /codec/decode (and their CORS
	// preflight; internal); nil when no payload keys are configured.
	Codec http.Handler
	// Metrics, if set, serves GET /metrics (internal); Middleware wraps
	// every route (timing, webhook counters).
	Metrics    http.Handler
	Middleware mux.MiddlewareFunc
	// MaxInFlight caps the requests served at once (the probes and
	// /metrics aside) by one router; over it a request is answered 503
	// with Retry-After. 0: DefaultMaxInFlight.
	MaxInFlight int
	// Log receives the refusals and panics (nil: discarded).
	Log logrus.FieldLogger
}

// Router returns one mux with every route, public and internal.
func (rt Routes) Router() *mux.Router {
	r := mux.NewRouter()
	rt.addPublic(r)
	rt.addInternal(r)
	return rt.finish(r)
}

// PublicRouter returns the mux of the public listener: the webhooks and
// the probes only. The lookup and /metrics are 404 on it.
func (rt Routes) PublicRouter() *mux.Router {
	r := mux.NewRouter()
	rt.addPublic(r)
	return rt.finish(r)
}

// InternalRouter returns the mux of the internal listener: the routes
// that must not be reachable from outside the cluster.
func (rt Routes) InternalRouter() *mux.Router {
	r := mux.NewRouter()
	rt.addInternal(r)
	return rt.finish(r)
}

// addPublic registers the webhooks and the probes.
func (rt Routes) addPublic(r *mux.Router) {
	r.Handle("/webhooks/clerk", rt.Clerk).Methods(http.MethodPost)
	if rt.Intercom != nil {
		r.Handle("/api/intercom/webhook", rt.Intercom).Methods(http.MethodPost)
	}
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", rt.ready).Methods(http.MethodGet)
}

// addInternal registers the internal-only routes: personal data (the
// lookup) and the service's internals (/metrics).
func (rt Routes) addInternal(r *mux.Router) {
	if rt.Lookup != nil {
		r.Handle("/api/intercom/lookup-email", rt.Lookup).Methods(http.MethodPost)
	}
	if rt.Metrics != nil {
		r.Handle("/metrics", rt.Metrics).Methods(http.MethodGet)
	}
	if rt.Codec != nil {
		r.Handle("/codec/{operation:encode|decode}", rt.Codec).Methods(http.MethodPost, http.MethodOptions)
	}
}

// finish adds the middleware and the JSON 404/405 answers.
func (rt Routes) finish(r *mux.Router) *mux.Router {
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

// ReadyTimeout bounds the checks of one /readyz.
const ReadyTimeout = 2 * time.Second

// ready answers 200 {"status":"ok"} when every check of Checks answers
// within ReadyTimeout, else 503 {"status":"unavailable"}. With
// ?verbose=1 the answer adds "checks": each check and dependency, "ok"
// or "unavailable" — never an error, a host or a DSN — while the status
// code still follows Checks alone. The checks run concurrently, so a
// dependency that hangs cannot use up Temporal's budget.
func (rt Routes) ready(w http.ResponseWriter, r *http.Request) {
	verbose, _ := strconv.ParseBool(r.URL.Query().Get("verbose")) // 1 or true
	checks := rt.Checks
	if verbose {
		checks = append(slices.Clone(rt.Checks), rt.Dependencies...)
	}
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	failed := make([]bool, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { failed[i] = c.Check(ctx) != nil })
	}
	wg.Wait()

	code, status := http.StatusOK, "ok"
	for i := range rt.Checks {
		if failed[i] {
			code, status = http.StatusServiceUnavailable, "unavailable"
		}
	}
	if !verbose {
		writeJSON(w, code, map[string]string{"status": status})
		return
	}
	report := map[string]string{}
	for i, c := range checks {
		report[c.Name] = "ok"
		if failed[i] {
			report[c.Name] = "unavailable"
		}
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": report})
}
