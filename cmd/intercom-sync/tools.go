package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

func cmdEmulator(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	token := fs.String("token", "", "the only accepted access token (empty: any bearer token)")
	limit := fs.Int("rate-limit-per-minute", 10000, "Intercom rate limit, enforced in 10-second windows (0: none)")
	stateFile := fs.String("state-file", "", "keep the data in this JSON file: loaded at start if it exists, "+
		"saved every few seconds when it changed and at shutdown (empty: in memory only)")
	var f emulator.Faults
	fs.Float64Var(&f.ServerErrorRate, "server-error-rate", 0, "share of requests answered 500")
	fs.Float64Var(&f.RateLimitRate, "rate-limit-rate", 0, "share of requests answered 429")
	fs.Float64Var(&f.SlowRate, "slow-rate", 0, "share of requests answered slowly")
	fs.DurationVar(&f.SlowDelay, "slow-delay", 2*time.Second, "delay of a slow answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	em := emulator.New(emulator.Options{Token: *token, RateLimitPerMinute: *limit, Faults: f})
	// The service's database remembers what it pushed; without the file a
	// restarted emulator would be empty while the service believes
	// Intercom is up to date.
	var state *emulator.StateFile
	if *stateFile != "" {
		sf, loaded, err := emulator.OpenStateFile(em, *stateFile)
		if err != nil {
			return err
		}
		state = sf
		if loaded {
			fmt.Fprintf(os.Stderr, "Intercom emulator: loaded state from %s\n", *stateFile)
		}
	}
	srv := &http.Server{Addr: *addr, Handler: em, ReadHeaderTimeout: 10 * time.Second}
	// Bind first: a port already taken is an error now, not after a
	// line saying the emulator is up.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "Intercom emulator on http://%s (state: http://%s/_emulator/state)\n", *addr, *addr)

	// Periodic saves bound what a crash (or kill -9) loses to a few
	// seconds; SaveIfChanged makes an idle emulator write nothing.
	stopSaving, savingDone := make(chan struct{}), make(chan struct{})
	if state != nil {
		const saveEvery = 2 * time.Second
		go func() {
			defer close(savingDone)
			tick := time.NewTicker(saveEvery)
			defer tick.Stop()
			for {
				select {
				case <-stopSaving:
					return
				case <-tick.C:
					if _, err := state.SaveIfChanged(); err != nil {
						fmt.Fprintf(os.Stderr, "Intercom emulator: %v (will retry)\n", err)
					}
				}
			}
		}()
	} else {
		close(savingDone)
	}

	shutdown := false
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown = true
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(shutdownCtx)
	}
	close(stopSaving)
	<-savingDone
	if state == nil {
		return err
	}
	// After Shutdown no request is in flight, so this is the final state.
	// If the server failed instead (e.g. the port is taken, perhaps by
	// another emulator on the same file) only a real change is written.
	var saveErr error
	if shutdown {
		saveErr = state.Save()
	} else {
		_, saveErr = state.SaveIfChanged()
	}
	if saveErr == nil && shutdown {
		fmt.Fprintf(os.Stderr, "Intercom emulator: saved state to %s\n", *stateFile)
	}
	return errors.Join(err, saveErr)
}

// cmdDemo posts a small, signed story to a running API: two organizations,
// three users, their memberships, an update and a membership removal.
func cmdDemo(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "base URL of the running API")
	secret := fs.String("secret", os.Getenv("CLERK_WEBHOOK_SECRET"), "Clerk webhook secret (default $CLERK_WEBHOOK_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("no secret: set CLERK_WEBHOOK_SECRET or --secret")
	}
	sender := clerksim.Sender{URL: strings.TrimRight(*base, "/") + "/webhooks/clerk", Secret: *secret,
		HTTP: &http.Client{Timeout: 15 * time.Second}}
	t0 := int64(1735819200000) // fixed, so a second run is a redelivery: no new writes
	acme := clerksim.Org{ID: "org_demo_acme", Name: "Acme Robotics", Slug: "acme", CreatedAtMs: t0, UpdatedAtMs: t0}
	globex := clerksim.Org{ID: "org_demo_globex", Name: "Globex", Slug: "globex", CreatedAtMs: t0, UpdatedAtMs: t0}
	maya := clerksim.User{ID: "user_demo_maya", Email: "maya@acme.example", FirstName: "Maya", LastName: "Okafor", CreatedAtMs: t0, UpdatedAtMs: t0}
	dan := clerksim.User{ID: "user_demo_dan", Email: "dan@globex.example", FirstName: "Daniel", CreatedAtMs: t0, UpdatedAtMs: t0}
	lee := clerksim.User{ID: "user_demo_lee", Email: "lee@acme.example", LastName: "Lee", CreatedAtMs: t0, UpdatedAtMs: t0}
	mayaRenamed := maya
	mayaRenamed.LastName, mayaRenamed.UpdatedAtMs = "Okafor-Reyes", t0+60_000
	mem := func(id string, u clerksim.User, o clerksim.Org) clerksim.Membership {
		return clerksim.Membership{ID: id, UserID: u.ID, Org: o, CreatedAtMs: t0, UpdatedAtMs: t0}
	}
	events := []struct {
		id   string
		body []byte
	}{
		{"msg_demo_1", clerksim.OrgEvent(clerk.OrgCreated, acme)},
		{"msg_demo_2", clerksim.OrgEvent(clerk.OrgCreated, globex)},
		{"msg_demo_3", clerksim.UserEvent(clerk.UserCreated, maya)},
		{"msg_demo_4", clerksim.UserEvent(clerk.UserCreated, dan)},
		{"msg_demo_5", clerksim.UserEvent(clerk.UserCreated, lee)},
		{"msg_demo_6", clerksim.MembershipEvent(clerk.MembershipCreated, mem("orgmem_demo_1", maya, acme))},
		{"msg_demo_7", clerksim.MembershipEvent(clerk.MembershipCreated, mem("orgmem_demo_2", maya, globex))},
		{"msg_demo_8", clerksim.MembershipEvent(clerk.MembershipCreated, mem("orgmem_demo_3", dan, globex))},
		{"msg_demo_9", clerksim.MembershipEvent(clerk.MembershipCreated, mem("orgmem_demo_4", lee, acme))},
		{"msg_demo_10", clerksim.UserEvent(clerk.UserUpdated, mayaRenamed)},
		{"msg_demo_11", clerksim.MembershipEvent(clerk.MembershipDeleted, mem("orgmem_demo_2", maya, globex))},
	}
	for _, e := range events {
		resp, err := sender.Send(ctx, e.id, e.body)
		if err != nil {
			return fmt.Errorf("post %s: %w", e.id, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s → %d %s\n", e.id, resp.StatusCode, strings.TrimSpace(string(b)))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s was answered %d", e.id, resp.StatusCode)
		}
	}
	return nil
}
