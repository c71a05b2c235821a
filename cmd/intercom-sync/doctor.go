package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/doctor"
)

// cmdDoctor checks an Intercom workspace and the service's settings before
// the first sync (internal/doctor). It fails when an assumption the sync
// needs is false.
func cmdDoctor(ctx context.Context, args []string) error {
	return runDoctor(ctx, args, os.Stdout)
}

func runDoctor(ctx context.Context, args []string, out io.Writer) error {
	fs := pflag.NewFlagSet("doctor", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	write := fs.Bool("write", false, "also create throwaway contacts ("+doctor.Prefix+"…, always deleted again) to check "+
		"leads' external_id, search lag and IN searches; use an Intercom development workspace")
	searchTimeout := fs.Duration("search-timeout", doctor.DefaultSearchTimeout, "with --write: how long to wait for a new contact to appear in search")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *searchTimeout <= 0 {
		return fmt.Errorf("--search-timeout must be positive")
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return err
	}
	if !*asJSON {
		what := "read-only"
		if *write {
			what = "with throwaway records"
		}
		fmt.Fprintf(out, "Checking Intercom at %s (%s)…\n\n", cfg.IntercomAPIBaseURL, what)
	}
	start := time.Now()
	report := doctor.Run(ctx, doctor.Options{Config: cfg, Write: *write, SearchTimeout: *searchTimeout})
	if *asJSON {
		err = report.WriteJSON(out)
	} else {
		err = report.WriteText(out)
		fmt.Fprintf(out, "\n%d checks in %s.\n", len(report.Checks), time.Since(start).Round(time.Second))
	}
	if err != nil {
		return err
	}
	return report.Err()
}
