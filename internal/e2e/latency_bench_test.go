package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// BenchmarkWebhookToIntercom measures, per new user, the time from posting
// a signed user.created to the contact existing in Intercom (the
// emulator): verification, signal-with-start, the workflow, the database
// write and the Intercom calls. Reports p50/p99 besides the mean.
func BenchmarkWebhookToIntercom(b *testing.B) {
	s := newStack(b, stackOptions{})
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := clerksim.User{ID: s.id("user", fmt.Sprint(i)), Email: fmt.Sprintf("l%d@example.com", i), FirstName: "L",
			CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
		start := time.Now()
		s.send(fmt.Sprint("lat", i), clerksim.UserEvent(clerk.UserCreated, u))
		for len(s.contactsByExternalID(u.ID)) == 0 {
			if time.Since(start) > 30*time.Second {
				b.Fatalf("user %d not in Intercom after 30 s", i)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkBareSignalWithStart is the baseline: the same Temporal dev
// server answering a bare SignalWithStartWorkflow of a no-op workflow, and
// the workflow completing. The service's own cost is the difference.
func BenchmarkBareSignalWithStart(b *testing.B) {
	tc := testenv.Temporal(b)
	queue := testenv.Name("bare-")
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		var v string
		workflow.GetSignalChannel(ctx, "s").ReceiveAsync(&v)
		return nil
	}, workflow.RegisterOptions{Name: "Noop"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run, err := tc.SignalWithStartWorkflow(context.Background(), fmt.Sprintf("%s/%d", queue, i), "s", "x",
			client.StartWorkflowOptions{TaskQueue: queue}, "Noop")
		if err != nil {
			b.Fatal(err)
		}
		if err := run.Get(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
