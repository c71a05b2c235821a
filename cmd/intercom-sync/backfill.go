package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// cmdBackfill starts a Backfill workflow and, with --wait, follows it to
// the end. It needs only Temporal: the workers do the work.
func cmdBackfill(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("backfill", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	env := fs.String("env", "", "environment written as custom_attributes.environment and named in the workflow id "+
		"(default: ENVIRONMENT_NAME if set, else the workers' own)")
	orgs := fs.StringSlice("org", nil, "only this organization, its members and its invitations (repeatable, or comma-separated)")
	users := fs.StringSlice("user", nil, "only this user and its organizations (repeatable, or comma-separated)")
	since := fs.String("updated-since", "", "only what changed in the database since this time (RFC 3339, or a duration such as 24h)")
	dryRun := fs.Bool("dry-run", false, "read Intercom and report what would be created, updated or deleted; write nothing")
	wait := fs.Bool("wait", false, "wait for the end: a progress bar on a terminal (plain lines otherwise), then a summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return err
	}
	in := workflows.BackfillInput{OrgIDs: *orgs, UserIDs: *users, DryRun: *dryRun, IntercomTaskQueue: cfg.IntercomTaskQueue}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return err
		}
		in.UpdatedSince = &t
	}
	// The environment goes into the input only when asked for: an
	// operator's shell without ENVIRONMENT_NAME must not make production
	// workers write "development".
	in.Environment = *env
	if in.Environment == "" && (fs.Changed("environment-name") || os.Getenv("ENVIRONMENT_NAME") != "") {
		in.Environment = cfg.EnvironmentName
	}
	idEnv := in.Environment
	if idEnv == "" {
		idEnv = cfg.EnvironmentName
	}

	// Only warnings: the SDK's info lines would tear the progress bar.
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	log.SetOutput(os.Stderr)
	opts, err := app.TemporalClientOptions(cfg, log) // the service's data converter: payloads encrypted alike
	if err != nil {
		return err
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()
	start := time.Now()
	id := workflows.BackfillWorkflowID(idEnv, start)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: cfg.TaskQueue,
		StaticSummary: workflows.BackfillSummary(idEnv, in.DryRun)},
		workflows.BackfillWorkflow, in)
	if err != nil {
		return fmt.Errorf("start backfill: %w", err)
	}
	out := os.Stdout
	fmt.Fprintf(out, "Started backfill %s (run %s) on task queue %s\n", id, run.GetRunID(), cfg.TaskQueue)
	if !*wait {
		fmt.Fprintf(out, "Follow it with: temporal workflow query --workflow-id %s --type %s\n", id, workflows.BackfillProgressQuery)
		return nil
	}
	return followBackfill(ctx, tc, run, out, isTerminal(out))
}

// parseSince reads --updated-since: a time, or a duration back from now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--updated-since %q: want an RFC 3339 time (2026-01-02T15:04:05Z), a date or a duration (24h)", v)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// followBackfill queries the backfill's progress until it ends, then
// prints a summary. On a terminal the progress is one redrawn bar; else a
// plain line every few seconds (logs, CI). It fails when the backfill
// failed or some entities could not be synced.
func followBackfill(ctx context.Context, tc client.Client, run client.WorkflowRun, out io.Writer, tty bool) error {
	var res workflows.BackfillResult
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, &res) }()
	every := 10 * time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if tty {
				fmt.Fprint(out, "\r\x1b[K")
			}
			if ctx.Err() != nil {
				fmt.Fprintf(out, "Stopped waiting; the backfill goes on. Follow it with: temporal workflow query --workflow-id %s --type %s\n",
					run.GetID(), workflows.BackfillProgressQuery)
				return nil
			}
			if err != nil {
				return fmt.Errorf("backfill %s: %w", run.GetID(), err)
			}
			printSummary(out, run.GetID(), res)
			if res.Failed > 0 {
				return fmt.Errorf("%d entities could not be synced (all are in backfill_failures, workflow_id '%s')", res.Failed, run.GetID())
			}
			return nil
		case <-tick.C:
			v, err := tc.QueryWorkflow(ctx, run.GetID(), "", workflows.BackfillProgressQuery)
			if err != nil {
				continue // not started yet, or between runs (continue-as-new)
			}
			var p workflows.BackfillProgress
			if v.Get(&p) != nil {
				continue
			}
			if tty {
				fmt.Fprint(out, "\r\x1b[K"+progressBar(p, 30))
			} else {
				fmt.Fprintln(out, progressLine(p))
			}
		}
	}
}

func percent(p workflows.BackfillProgress) float64 {
	if p.Total == 0 {
		return 100
	}
	return 100 * float64(p.Done) / float64(p.Total)
}

// progressBar is one line such as
// "[#########.....................]  30%  3000/10000 users  166.7/s  ETA 42s  failed 0".
func progressBar(p workflows.BackfillProgress, width int) string {
	filled := int(percent(p) / 100 * float64(width))
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	eta := "?"
	if p.Rate > 0 {
		eta = (time.Duration(float64(p.Total-p.Done)/p.Rate) * time.Second).Round(time.Second).String()
	}
	dry := ""
	if p.DryRun {
		dry = "  (dry run)"
	}
	return fmt.Sprintf("[%s] %3.0f%%  %d/%d  %s  %.1f/s  ETA %s  unchanged %d  failed %d%s",
		bar, percent(p), p.Done, p.Total, p.Phase, p.Rate, eta, p.Unchanged, p.Failed, dry)
}

func progressLine(p workflows.BackfillProgress) string {
	return fmt.Sprintf("%s backfill %s: %d/%d done (%.0f%%), %.1f/s, unchanged %d, created %d, updated %d, deleted %d, failed %d",
		time.Now().UTC().Format(time.RFC3339), p.Phase, p.Done, p.Total, percent(p), p.Rate,
		p.Unchanged, p.Created, p.Updated, p.Deleted, p.Failed)
}

func printSummary(out io.Writer, id string, res workflows.BackfillResult) {
	verb := "Backfill"
	if res.DryRun {
		verb = "Dry run"
	}
	elapsed := time.Duration(res.ElapsedSeconds * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(out, "%s %s finished in %s: %d of %d entities, %.1f/s (environment %s)\n",
		verb, id, elapsed, res.Done, res.Total, res.Rate, res.Environment)
	would := ""
	if res.DryRun {
		would = "would be "
	}
	fmt.Fprintf(out, "  %screated %d, %supdated %d, %sdeleted %d; unchanged %d; failed %d\n",
		would, res.Created, would, res.Updated, would, res.Deleted, res.Unchanged, res.Failed)
	for _, c := range res.Changes {
		line := fmt.Sprintf("  would %s %s %s", c.Action, c.Kind, c.EntityID)
		if len(c.Fields) > 0 {
			line += " fields " + strings.Join(c.Fields, ",")
		}
		if len(c.Attach) > 0 {
			line += " attach " + strings.Join(c.Attach, ",")
		}
		if len(c.Detach) > 0 {
			line += " detach " + strings.Join(c.Detach, ",")
		}
		if c.Note != "" {
			line += " (" + c.Note + ")"
		}
		fmt.Fprintln(out, line)
	}
	if len(res.Failures) > 0 {
		fmt.Fprintf(out, "  failures (first %d; all in backfill_failures):\n", len(res.Failures))
		for _, f := range res.Failures {
			fmt.Fprintf(out, "    %s %s: %s\n", f.Kind, f.EntityID, f.Error)
		}
	}
}
