// Package app builds the service: the one place where the configuration
// becomes connected stores, clients, activities, workers and HTTP
// handlers. The binary, the end-to-end tests and the benchmarks all build
// it here, so the tests run the production wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/api"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/temporalclient"
	"github.com/intercom-sync/intercom-sync/worker"
)

// Parts says which parts of the service a process runs.
type Parts struct {
	API     bool // the HTTP API: webhooks, lookup, health, metrics
	Workers bool // the Temporal workers
}

// Options are what a process adds to its configuration. Production sets
// none of them; tests use them to observe or cut what crosses a boundary.
type Options struct {
	// Temporal, if set, is used instead of a connection to
	// TEMPORAL_ADDRESS (tests share one dev-server connection). The App
	// wraps it and does not close it.
	Temporal client.Client
	// APITemporal, if set, is the client the API starts workflows with
	// (a test puts a proxy in between to cut Temporal off); default: the
	// App's own.
	APITemporal client.Client
	// IntercomTransport, if set, carries the calls to Intercom (tests
	// validate them against Intercom's OpenAPI description).
	IntercomTransport http.RoundTripper
	// Workers tunes the workers (tests that kill a worker mid-batch).
	Workers worker.Tuning
}

// App is one process of the service, built and connected.
type App struct {
	Config     config.Config
	Log        *logrus.Logger
	Metrics    *metrics.Metrics
	Store      *store.Store
	Members    *members.Directory
	Positions  *positions.Store
	Temporal   client.Client
	Intercom   *intercom.Client
	Activities *activities.Activities

	// codec encrypts the Temporal payloads (nil: PAYLOAD_ENCRYPTION_KEYS
	// is empty, payloads are stored in the clear).
	codec  *payloadcrypt.Codec
	parts  Parts
	opts   Options
	closes []func()
}

// New checks that the configuration has what parts need, then opens the
// databases and the Temporal client and builds the activities. The
// Temporal client connects lazily: the API starts (and answers 503) while
// Temporal is down, and reconnects by itself when it is back.
func New(ctx context.Context, cfg config.Config, log *logrus.Logger, parts Parts, opts Options) (_ *App, err error) {
	if err := cfg.Require(required(parts)...); err != nil {
		return nil, err
	}
	if err := cfg.CheckPlaceholders(); err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Metrics: metrics.New(), parts: parts, opts: opts}
	if len(cfg.PayloadKeys) > 0 {
		if a.codec, err = payloadcrypt.New(cfg.PayloadKeys); err != nil {
			return nil, fmt.Errorf("PAYLOAD_ENCRYPTION_KEYS: %w", err)
		}
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.Store, err = store.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	a.closes = append(a.closes, a.Store.Close)
	if a.Members, err = members.Open(cfg.MembersMySQLDSN); err != nil {
		return nil, err
	}
	a.closes = append(a.closes, func() { _ = a.Members.Close() })
	if a.Positions, err = positions.Open(ctx, cfg.PositionsDatabaseURL); err != nil {
		return nil, err
	}
	a.closes = append(a.closes, a.Positions.Close)
	if a.Temporal, err = a.temporalClient(); err != nil {
		return nil, err
	}
	a.closes = append(a.closes, a.Temporal.Close)

	a.Intercom = intercom.New(intercom.Options{
		BaseURL: cfg.IntercomAPIBaseURL, Token: cfg.IntercomAccessToken, Timeout: cfg.IntercomTimeout,
		Transport: opts.IntercomTransport,
		Observe:   a.Metrics.ObserveIntercom, ObserveWait: a.Metrics.ObserveRateLimitWait,
	})
	a.Activities, err = activities.New(activities.Deps{
		Store:       a.Store,
		Intercom:    a.Intercom,
		Environment: cfg.EnvironmentName,
		Log:         log,
		Temporal:    a.Temporal,
		Metrics:     a.Metrics,
		Members:     a.Members,
		Positions:   a.Positions,
		MemberTypes: cfg.MemberTypes,
		AdminID:     cfg.IntercomAdminID,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// required names the settings without which parts cannot run. Whatever
// ENVIRONMENT_NAME says: the API without INTERCOM_WEBHOOK_SECRET or
// LOOKUP_API_TOKEN starts, but that endpoint answers 503 (Handler).
func required(parts Parts) []string {
	// The member database serves both the lookup API and the enrichment.
	names := []string{"DATABASE_URL", "MEMBERS_MYSQL_DSN"}
	if parts.API {
		names = append(names, "CLERK_WEBHOOK_SECRET")
	}
	if parts.Workers {
		names = append(names, "INTERCOM_ACCESS_TOKEN")
	}
	return names
}

func (a *App) temporalClient() (client.Client, error) {
	opts, err := clientOptions(a.Config, a.Log, a.codec)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = a.Metrics.Temporal()
	if a.opts.Temporal != nil {
		// The new client keeps these options, the data converter
		// included: only the connection is shared.
		return client.NewClientFromExisting(a.opts.Temporal, opts)
	}
	a.Log.WithField("temporal_address", a.Config.TemporalAddress).
		Info("Temporal connection: " + temporalclient.Summary(a.Config))
	return client.NewLazyClient(opts)
}

// TemporalClientOptions are the options of every Temporal client the
// binary builds (the service's, and the backfill and migrate commands'):
// the connection (address, namespace, TLS or API key: internal/
// temporalclient) and the data converter that encrypts payloads with
// PAYLOAD_ENCRYPTION_KEYS. A client built without it would write readable
// payloads, or fail to read the encrypted ones.
func TemporalClientOptions(cfg config.Config, log *logrus.Logger) (client.Options, error) {
	var codec *payloadcrypt.Codec
	if len(cfg.PayloadKeys) > 0 {
		var err error
		if codec, err = payloadcrypt.New(cfg.PayloadKeys); err != nil {
			return client.Options{}, fmt.Errorf("PAYLOAD_ENCRYPTION_KEYS: %w", err)
		}
	}
	return clientOptions(cfg, log, codec)
}

func clientOptions(cfg config.Config, log *logrus.Logger, codec *payloadcrypt.Codec) (client.Options, error) {
	opts, err := temporalclient.Options(cfg)
	if err != nil {
		return client.Options{}, err
	}
	opts.Logger = logging.NewTemporal(log)
	if codec != nil {
		opts.DataConverter = codec.DataConverter()
	}
	return opts, nil
}

// Close closes what New opened, in reverse order.
func (a *App) Close() {
	for i := len(a.closes) - 1; i >= 0; i-- {
		a.closes[i]()
	}
	a.closes = nil
}

// Handler is the HTTP API on one listener: Clerk and Intercom webhooks,
// the member lookup, health and metrics.
func (a *App) Handler() (http.Handler, error) {
	rt, err := a.routes()
	if err != nil {
		return nil, err
	}
	return rt.Router(), nil
}

// Handlers are the handlers of the API's listeners: with
// INTERNAL_HTTP_ADDR set, public serves the webhooks and the probes and
// internal the lookup and /metrics; unset, public serves everything and
// internal is nil.
func (a *App) Handlers() (public, internal http.Handler, err error) {
	rt, err := a.routes()
	if err != nil {
		return nil, nil, err
	}
	if a.Config.InternalHTTPAddr == "" {
		return rt.Router(), nil, nil
	}
	return rt.PublicRouter(), rt.InternalRouter(), nil
}

func (a *App) routes() (api.Routes, error) {
	cfg, log := a.Config, a.Log
	var starter client.Client = a.Temporal
	if a.opts.APITemporal != nil {
		starter = a.opts.APITemporal
	}
	counted := metrics.CountingClient{Client: starter, M: a.Metrics} // the API's starts are counted
	queues := api.Queues{Workflows: cfg.TaskQueue, Intercom: cfg.IntercomTaskQueue}
	clerkHandler, err := api.NewClerkHandler(cfg.ClerkWebhookSecret, counted, queues, api.DefaultStartTimeout, log)
	if err != nil {
		return api.Routes{}, err
	}
	// Without its secret an endpoint fails closed (503), in every
	// environment; the API still starts, so the Clerk webhooks flow.
	intercomHandler, err := api.NewIntercomHandler(cfg.IntercomWebhookSecret, counted, queues,
		api.DefaultStartTimeout, log, api.WithResyncTag(cfg.ResyncTag), api.WithMetrics(a.Metrics))
	if err != nil {
		return api.Routes{}, err
	}
	if cfg.IntercomWebhookSecret == "" {
		log.Warn("INTERCOM_WEBHOOK_SECRET is not set: POST /api/intercom/webhook answers 503 until it is")
	}
	lookup := api.NewLookupHandler(cfg.LookupAPIToken, a.Members, a.Positions, log,
		api.WithLookupRateLimit(cfg.LookupRateLimitPerMinute, cfg.LookupRateLimitBurst))
	if cfg.LookupAPIToken == "" {
		log.Warn("LOOKUP_API_TOKEN is not set: POST /api/intercom/lookup-email answers 503 until it is")
	}
	var codec http.Handler // the codec server exists where payloads are encrypted
	if a.codec != nil {
		codec = api.NewCodecHandler(cfg.CodecAuthToken, a.codec, cfg.CodecCORSOrigins, log)
		if cfg.CodecAuthToken == "" {
			log.Warn("CODEC_AUTH_TOKEN is not set: POST /codec/encode and /codec/decode answer 503 until it is")
		}
	}
	return api.Routes{
		Clerk:       clerkHandler,
		Codec:       codec,
		Intercom:    intercomHandler,
		Lookup:      lookup,
		Metrics:     a.Metrics.Handler(),
		Middleware:  a.Metrics.Middleware,
		MaxInFlight: cfg.HTTPMaxInFlight,
		Log:         log,
		// Ready means "can take webhooks": intake needs Temporal only.
		// The databases serve the lookup and the workers; a pod taken out
		// of rotation for them would refuse webhooks it could record.
		Checks: []api.Check{api.TemporalCheck(starter)},
		Dependencies: []api.Check{
			{Name: "postgres", Check: a.Store.Ping},
			{Name: "mysql", Check: a.Members.Ping},
			{Name: "positions", Check: a.Positions.Ping},
		},
	}, nil
}

// NewWorkers registers every workflow and activity on the two task queues
// (not started yet).
func (a *App) NewWorkers() *worker.Workers {
	return worker.New(a.Temporal, worker.Options{
		TaskQueue:                  a.Config.TaskQueue,
		IntercomTaskQueue:          a.Config.IntercomTaskQueue,
		IntercomRateLimitPerMinute: a.Config.IntercomRateLimitPerMinute,
		Tuning:                     a.opts.Workers,
	}, a.Activities)
}

// StartWorkers waits for Temporal to answer (retrying, so a worker started
// before Temporal comes up needs no restart), then starts the workers. It
// returns nil workers if ctx ends first.
func (a *App) StartWorkers(ctx context.Context) (*worker.Workers, error) {
	for {
		checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := a.Temporal.CheckHealth(checkCtx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			break
		}
		a.Log.WithError(err).Warn("Temporal is not reachable yet; retrying")
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(2 * time.Second):
		}
	}
	w := a.NewWorkers()
	if err := w.Start(); err != nil {
		return nil, err
	}
	a.Log.WithFields(logrus.Fields{"task_queue": a.Config.TaskQueue, "intercom_task_queue": a.Config.IntercomTaskQueue,
		"intercom_activities_per_second": worker.ActivitiesPerSecond(a.Config.IntercomRateLimitPerMinute)}).
		Info("Workers started")
	return w, nil
}

// Run runs the process's parts until ctx ends, then shuts down
// gracefully: the API stops taking requests and finishes the ones in
// flight; the workers finish running activities.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	var servers []*http.Server
	if a.parts.API {
		public, internal, err := a.Handlers()
		if err != nil {
			return err
		}
		listeners := []listener{{"public", "HTTP_ADDR", a.Config.HTTPAddr, public}}
		if internal != nil {
			listeners = append(listeners, listener{"internal", "INTERNAL_HTTP_ADDR", a.Config.InternalHTTPAddr, internal})
		}
		for _, l := range listeners {
			srv := HTTPServer(a.Config, l.addr, l.h)
			// Bind before saying so: a port already taken fails the start
			// here, instead of after a "listening" line that was not true.
			ln, err := net.Listen("tcp", srv.Addr)
			if err != nil {
				Shutdown(servers, time.Second) // the one already serving, if any
				return fmt.Errorf("%s: %w", l.setting, err)
			}
			servers = append(servers, srv)
			a.Log.WithFields(logrus.Fields{"addr": ln.Addr().String(), "listener": l.name}).Info("HTTP API listening")
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					errc <- fmt.Errorf("http %s: %w", l.name, err)
				}
			}()
		}
	}
	if a.parts.Workers {
		workers, err := a.StartWorkers(ctx)
		if err != nil {
			return err
		}
		if workers != nil {
			defer workers.Stop()
		}
		if !a.parts.API {
			// A worker-only process has no API: serve its metrics (and a
			// liveness answer) on METRICS_ADDR.
			msrv := metricsServer(a.Config, a.Metrics)
			go func() {
				if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
					errc <- fmt.Errorf("metrics http: %w", err)
				}
			}()
			defer msrv.Close()
		}
	}

	select {
	case <-ctx.Done():
		a.Log.Info("Shutting down")
	case err := <-errc:
		Shutdown(servers, 15*time.Second) // the other listener, if any
		return err
	}
	Shutdown(servers, 15*time.Second)
	return nil
}

// listener is one HTTP listener of the API and what it serves.
type listener struct {
	name, setting, addr string // setting: the variable that set addr
	h                   http.Handler
}

// Shutdown stops the servers together: each stops taking requests and
// finishes the ones in flight, all within one drain budget.
func Shutdown(servers []*http.Server, drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() { _ = srv.Shutdown(ctx) })
	}
	wg.Wait()
}

// HTTPServer is the server of h on addr with the configured limits: a
// client must send its headers within HTTP_READ_HEADER_TIMEOUT and its
// whole request within HTTP_READ_TIMEOUT (one that trickles its body is
// cut off), the answer must be out within HTTP_WRITE_TIMEOUT, an idle
// keep-alive connection closes after HTTP_IDLE_TIMEOUT, and headers are
// capped at HTTP_MAX_HEADER_BYTES.
func HTTPServer(cfg config.Config, addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    cfg.HTTPMaxHeaderBytes,
	}
}

func metricsServer(cfg config.Config, m *metrics.Metrics) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return HTTPServer(cfg, cfg.MetricsAddr, mux)
}
