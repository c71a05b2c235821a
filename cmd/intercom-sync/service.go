package main

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/store"
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

func cmdServe(ctx context.Context, args []string) error {
	return runProcess(ctx, "serve", args, app.Parts{API: true})
}

func cmdWorker(ctx context.Context, args []string) error {
	return runProcess(ctx, "worker", args, app.Parts{Workers: true})
}

func cmdRun(ctx context.Context, args []string) error {
	return runProcess(ctx, "run", args, app.Parts{API: true, Workers: true})
}

// runProcess builds the service's parts (internal/app) and runs them until
// ctx ends.
func runProcess(ctx context.Context, name string, args []string, parts app.Parts) error {
	cfg, log, err := setup(name, args)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log, parts, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx)
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
	opts, err := app.TemporalClientOptions(cfg, log) // the service's data converter: payloads encrypted alike
	if err != nil {
		return err
	}
	tc, err := client.DialContext(ctx, opts)
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
