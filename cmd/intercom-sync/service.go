package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/api"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/worker"
)

// setup parses flags and config and builds the logger.
func setup(name string, args []string) (config.Config, *logrus.Logger, error) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	config.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, err
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return cfg, nil, err
	}
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat, nil)
	return cfg, log, err
}

// temporalClient connects lazily: the API starts (and answers 503) while
// Temporal is down, and gRPC reconnects by itself when it is back.
func temporalClient(cfg config.Config, log *logrus.Logger, m *metrics.Metrics) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    logging.NewTemporal(log),
	}
	if m != nil {
		opts.MetricsHandler = m.Temporal()
	}
	return client.NewLazyClient(opts)
}

func cmdServe(ctx context.Context, args []string) error {
	cfg, log, err := setup("serve", args)
	if err != nil {
		return err
	}
	return runProcess(ctx, cfg, log, true, false)
}

func cmdWorker(ctx context.Context, args []string) error {
	cfg, log, err := setup("worker", args)
	if err != nil {
		return err
	}
	return runProcess(ctx, cfg, log, false, true)
}

func cmdRun(ctx context.Context, args []string) error {
	cfg, log, err := setup("run", args)
	if err != nil {
		return err
	}
	return runProcess(ctx, cfg, log, true, true)
}

func cmdMigrate(ctx context.Context, args []string) error {
	cfg, log, err := setup("migrate", args)
	if err != nil {
		return err
	}
	if err := cfg.Require("DATABASE_URL"); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	log.WithField("applied", applied).Infof("Database is up to date (%d migrations applied now)", len(applied))

	// The workflows set custom search attributes; a namespace without them
	// would refuse the starts.
	tc, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: logging.NewTemporal(log)})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()
	added, err := searchattr.Register(ctx, tc, cfg.TemporalNamespace)
	if err != nil {
		return err
	}
	log.WithField("added", added).Infof("Search attributes of namespace %s are registered (%d added now)", cfg.TemporalNamespace, len(added))
	return nil
}

// runProcess runs the API and/or the workers until ctx ends, then shuts
// down gracefully: the API stops taking requests and finishes the ones in
// flight; the workers finish running activities.
func runProcess(ctx context.Context, cfg config.Config, log *logrus.Logger, serveAPI, runWorkers bool) error {
	// The member database serves both the lookup API and the enrichment.
	required := []string{"DATABASE_URL", "MEMBERS_MYSQL_DSN"}
	if serveAPI {
		required = append(required, "CLERK_WEBHOOK_SECRET")
		if !cfg.Development() {
			required = append(required, "INTERCOM_WEBHOOK_SECRET")
		}
	}
	if runWorkers {
		required = append(required, "INTERCOM_ACCESS_TOKEN")
	}
	if err := cfg.Require(required...); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	memberDir, err := members.Open(cfg.MembersMySQLDSN)
	if err != nil {
		return err
	}
	defer memberDir.Close()
	positionStore, err := positions.Open(ctx, cfg.PositionsDatabaseURL)
	if err != nil {
		return err
	}
	defer positionStore.Close()
	m := metrics.New()
	tc, err := temporalClient(cfg, log, m)
	if err != nil {
		return err
	}
	defer tc.Close()
	starter := metrics.CountingClient{Client: tc, M: m} // the API's starts are counted

	errc := make(chan error, 2)
	var srv *http.Server
	if serveAPI {
		queues := api.Queues{Workflows: cfg.TaskQueue, Intercom: cfg.IntercomTaskQueue}
		clerkHandler, err := api.NewClerkHandler(cfg.ClerkWebhookSecret, starter, queues, api.DefaultStartTimeout, log)
		if err != nil {
			return err
		}
		intercomHandler, err := api.NewIntercomHandler(cfg.IntercomWebhookSecret, cfg.Development(), starter, queues,
			api.DefaultStartTimeout, log, api.WithResyncTag(cfg.ResyncTag))
		if err != nil {
			return err
		}
		if cfg.IntercomWebhookSecret == "" {
			log.Warn("INTERCOM_WEBHOOK_SECRET is not set: unsigned Intercom webhooks are accepted (development only)")
		}
		var lookup http.Handler
		switch {
		case cfg.LookupAPIToken != "":
			lookup = api.NewLookupHandler(cfg.LookupAPIToken, memberDir, positionStore, log)
		case cfg.Development():
			log.Warn("LOOKUP_API_TOKEN is not set: the email lookup API is open (development only)")
			lookup = api.NewLookupHandler("", memberDir, positionStore, log)
		default:
			log.Warn("LOOKUP_API_TOKEN is not set: POST /api/intercom/lookup-email is off")
		}
		routes := api.Routes{
			Clerk:      clerkHandler,
			Intercom:   intercomHandler,
			Lookup:     lookup,
			Metrics:    m.Handler(),
			Middleware: m.Middleware,
			Checks: []api.Check{
				{Name: "postgres", Check: st.Ping},
				{Name: "mysql", Check: memberDir.Ping},
				{Name: "positions", Check: positionStore.Ping},
				api.TemporalCheck(tc),
			},
		}
		srv = &http.Server{Addr: cfg.HTTPAddr, Handler: routes.Router(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			log.WithField("addr", cfg.HTTPAddr).Info("HTTP API listening")
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		}()
	}
	var workers *worker.Workers
	if runWorkers {
		ic := intercom.New(intercom.Options{
			BaseURL: cfg.IntercomAPIBaseURL, Token: cfg.IntercomAccessToken, Timeout: cfg.IntercomTimeout,
		})
		ic.Observe, ic.ObserveWait = m.ObserveIntercom, m.ObserveRateLimitWait
		acts := &activities.Activities{
			Store:       st,
			Intercom:    ic,
			Environment: cfg.EnvironmentName,
			Log:         log,
			Temporal:    tc,
			Members:     memberDir,
			Positions:   positionStore,
			MemberTypes: cfg.MemberTypes,
			AdminID:     cfg.IntercomAdminID,
		}
		workers, err = startWorkers(ctx, tc, cfg, acts, log)
		if err != nil {
			return err
		}
		if workers != nil {
			defer workers.Stop()
		}
		if !serveAPI {
			// A worker-only process has no API: serve its metrics (and a
			// liveness answer) on METRICS_ADDR.
			msrv := metricsServer(cfg.MetricsAddr, m)
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
		log.Info("Shutting down")
	case err := <-errc:
		return err
	}
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	return nil
}

// startWorkers waits for Temporal to answer (retrying, so a worker started
// before Temporal comes up needs no restart), then starts the workers. It
// returns nil workers if ctx ends first.
func startWorkers(ctx context.Context, tc client.Client, cfg config.Config, acts *activities.Activities, log *logrus.Logger) (*worker.Workers, error) {
	for {
		checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := tc.CheckHealth(checkCtx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			break
		}
		log.WithError(err).Warn("Temporal is not reachable yet; retrying")
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(2 * time.Second):
		}
	}
	w := worker.New(tc, worker.Options{
		TaskQueue:                  cfg.TaskQueue,
		IntercomTaskQueue:          cfg.IntercomTaskQueue,
		IntercomRateLimitPerMinute: cfg.IntercomRateLimitPerMinute,
	}, acts)
	if err := w.Start(); err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{"task_queue": cfg.TaskQueue, "intercom_task_queue": cfg.IntercomTaskQueue,
		"intercom_activities_per_second": worker.ActivitiesPerSecond(cfg.IntercomRateLimitPerMinute)}).
		Info("Workers started")
	return w, nil
}

func metricsServer(addr string, m *metrics.Metrics) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}
