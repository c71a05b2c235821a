// Command intercom-sync is the whole service in one binary:
//
//	intercom-sync serve      HTTP API (webhooks, health)
//	intercom-sync worker     Temporal workers (workflows, activities)
//	intercom-sync run        both in one process
//	intercom-sync migrate    apply database migrations
//	intercom-sync backfill   start a backfill (sync everything to Intercom)
//	intercom-sync doctor     check an Intercom workspace before the first sync
//	intercom-sync emulator   local Intercom API emulator
//	intercom-sync demo       post signed demo Clerk webhooks to a running API
//
// Configuration comes from the environment (see README), an optional
// --config file, and flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

var commands = []command{
	{"serve", "run the HTTP API", cmdServe},
	{"worker", "run the Temporal workers", cmdWorker},
	{"run", "run the HTTP API and the workers in one process", cmdRun},
	{"migrate", "apply database migrations", cmdMigrate},
	{"backfill", "start a backfill: sync every organization and user to Intercom", cmdBackfill},
	{"doctor", "check an Intercom workspace and the settings before the first sync", cmdDoctor},
	{"emulator", "run the local Intercom emulator", cmdEmulator},
	{"demo", "post signed demo Clerk webhooks to a running API", cmdDemo},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: intercom-sync <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'intercom-sync <command> --help' for its flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == os.Args[1] {
			err := c.run(ctx, os.Args[2:])
			if errors.Is(err, pflag.ErrHelp) {
				return
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "intercom-sync %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "intercom-sync: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}
