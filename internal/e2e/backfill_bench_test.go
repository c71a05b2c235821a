package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/worker"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// BenchmarkBackfill10k backfills 10,000 users in 1,000 organizations
// (12,000 memberships) into an empty Intercom — the emulator, limited to
// 10,000 calls a minute in 10-second windows — then backfills again with
// nothing to change. With one and with three workers: three sets of SDK
// workers in this process, each with its own Temporal client, Intercom
// client (own pacer) and activities, as three worker processes would
// have.
//
// The emulator runs as a separate process (intercom-sync emulator), so
// the memory measured here is the workers' (and the benchmark's). Reports:
// wall time of the first run; the minimum the rate limit allows for its
// calls, both calls ÷ limit and the floor counted in whole windows, and
// the floor's share of the wall time; the share of calls answered 429;
// peak Go heap; and the calls, writes and wall time of the repeat.
//
//	go test -run '^$' -bench Backfill10k -benchtime 1x ./internal/e2e/
func BenchmarkBackfill10k(b *testing.B) {
	const limit = 10_000
	st, dbURL := testenv.Store(b)
	s := &stack{t: b, store: st, prefix: testenv.Name("") + "_"}
	seedStart := time.Now()
	s.seedPopulation(1000, 10_000)
	b.Logf("seeded 1,000 organizations and 10,000 users in %s", time.Since(seedStart).Round(time.Second))
	em := startEmulatorProcess(b, limit)

	for _, workers := range []int{1, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for range b.N {
				resetBackfill(b, dbURL, em)
				queue := testenv.Name("bench-")
				stop := startWorkerProcesses(b, workers, queue, em, dbURL)
				tc := testenv.Temporal(b)

				runtime.GC()
				peak := sampleHeap()
				start := time.Now()
				res := runBenchBackfill(b, tc, queue)
				wall := time.Since(start)
				heap := peak()
				first := em.counters(b)
				if res.Failed != 0 || res.Created != 11_000 {
					b.Fatalf("first backfill: %+v", res.BackfillProgress)
				}

				start = time.Now()
				res = runBenchBackfill(b, tc, queue)
				repeatWall := time.Since(start)
				second := em.counters(b)
				stop()
				if res.Unchanged != 11_000 {
					b.Fatalf("second backfill: %+v", res.BackfillProgress)
				}

				// The least time the limit allows: calls ÷ limit at the
				// steady rate; and, counted in windows of ceil(limit/6)
				// calls, the floor: at best the first window is used in its
				// last instant and the last in its first, so n windows take
				// (n-2)×10 s.
				minimum := time.Duration(float64(first.Requests) / limit * float64(time.Minute))
				perWindow := int64((limit + 5) / 6)
				floor := time.Duration((first.Requests+perWindow-1)/perWindow-2) * 10 * time.Second
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(minimum.Seconds(), "min-s")
				b.ReportMetric(floor.Seconds(), "floor-s")
				b.ReportMetric(100*floor.Seconds()/wall.Seconds(), "%-of-floor")
				b.ReportMetric(float64(first.Requests), "calls")
				b.ReportMetric(100*float64(first.RateLimited)/float64(first.Requests+first.RateLimited), "%-429")
				b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(second.Requests-first.Requests), "repeat-calls")
				b.ReportMetric(float64(second.Writes-first.Writes), "repeat-writes")
				b.ReportMetric(repeatWall.Seconds(), "repeat-wall-s")
				b.Logf("workers=%d: %d calls (%d writes, %d answered 429) in %s; calls ÷ limit %s, window floor %s; peak heap %.0f MB; "+
					"repeat: %d calls, %d writes, %s",
					workers, first.Requests, first.Writes, first.RateLimited, wall.Round(time.Millisecond), minimum.Round(time.Millisecond),
					floor, float64(heap)/(1<<20), second.Requests-first.Requests, second.Writes-first.Writes, repeatWall.Round(time.Millisecond))
			}
		})
	}
}

func runBenchBackfill(b *testing.B, tc client.Client, queue string) workflows.BackfillResult {
	b.Helper()
	run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.BackfillWorkflowID("bench", time.Now()) + "-" + testenv.Name(""), TaskQueue: queue,
	}, workflows.BackfillWorkflow, workflows.BackfillInput{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var res workflows.BackfillResult
	if err := run.Get(ctx, &res); err != nil {
		b.Fatal(err)
	}
	return res
}

// emulatorProcess is `intercom-sync emulator` running beside the
// benchmark.
type emulatorProcess struct{ url string }

func startEmulatorProcess(b *testing.B, limit int) emulatorProcess {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "intercom-sync")
	build := exec.Command("go", "build", "-o", bin, "./cmd/intercom-sync")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "emulator", "--addr", addr, "--token", intercomToken, "--rate-limit-per-minute", fmt.Sprint(limit))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	em := emulatorProcess{url: "http://" + addr}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(em.url + "/_emulator/faults"); err == nil {
			resp.Body.Close()
			return em
		}
		if time.Now().After(deadline) {
			b.Fatal("the emulator did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (em emulatorProcess) counters(b *testing.B) emulator.Counters {
	b.Helper()
	resp, err := http.Get(em.url + "/_emulator/state")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Counters emulator.Counters `json:"counters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	return st.Counters
}

// resetBackfill empties Intercom and forgets what was pushed, so every
// sub-benchmark starts from the same place.
func resetBackfill(b *testing.B, dbURL string, em emulatorProcess) {
	b.Helper()
	resp, err := http.Post(em.url+"/_emulator/reset", "application/json", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `TRUNCATE sync_state, backfill_failures, backfill_companies`); err != nil {
		b.Fatal(err)
	}
}

// startWorkerProcesses starts n independent sets of workers on queue, as
// n `intercom-sync worker` processes would run (each built by internal/app
// with its own Temporal connection and database pools), and returns their
// stop.
func startWorkerProcesses(b *testing.B, n int, queue string, em emulatorProcess, dbURL string) func() {
	b.Helper()
	memberDSN, _ := testenv.Members(b)
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.PositionsDatabaseURL, cfg.MembersMySQLDSN = dbURL, dbURL, memberDSN
	cfg.TemporalAddress, cfg.TemporalNamespace = testenv.TemporalAddress(b), testenv.TemporalNamespace()
	cfg.TaskQueue, cfg.IntercomTaskQueue = queue, queue+"-intercom"
	cfg.IntercomAPIBaseURL, cfg.IntercomAccessToken = em.url, intercomToken
	cfg.IntercomRateLimitPerMinute = 10_000
	cfg.EnvironmentName = "bench"
	var all []*worker.Workers
	for range n {
		a, err := app.New(context.Background(), cfg, testenv.Logger(b), app.Parts{Workers: true}, app.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(a.Close)
		w := a.NewWorkers()
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		all = append(all, w)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			for _, w := range all {
				w.Stop()
			}
		})
	}
	b.Cleanup(stop)
	return stop
}

// sampleHeap samples the Go heap ten times a second until the returned
// function is called, which returns the peak.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// BenchmarkPerCallActivityCeiling is the alternative the backfill does not
// take: one activity per Intercom call, paced by the Intercom queue's
// fleet-wide cap (TaskQueueActivitiesPerSecond, 90 % of 10,000/min =
// 150/s). One workflow runs 1,000 no-op activities, 64 in flight, through
// that cap on the dev server; it reports how many complete per second,
// against the 166.7 calls/s the limit allows. (Measured on the 2-core
// machine: about 44/s, a quarter of the limit; batches reach it.)
func BenchmarkPerCallActivityCeiling(b *testing.B) {
	const n = 1000
	tc := testenv.Temporal(b)
	queue := testenv.Name("percall-")
	w := sdkworker.New(tc, queue, sdkworker.Options{TaskQueueActivitiesPerSecond: worker.ActivitiesPerSecond(10_000)})
	w.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "Noop"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		var futures []workflow.Future
		for range n {
			if len(futures) >= 64 {
				if err := futures[0].Get(ctx, nil); err != nil {
					return err
				}
				futures = futures[1:]
			}
			futures = append(futures, workflow.ExecuteActivity(ctx, "Noop"))
		}
		for _, f := range futures {
			if err := f.Get(ctx, nil); err != nil {
				return err
			}
		}
		return nil
	}, workflow.RegisterOptions{Name: "PerCall"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	for range b.N {
		start := time.Now()
		run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue}, "PerCall")
		if err != nil {
			b.Fatal(err)
		}
		if err := run.Get(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		perSecond := n / time.Since(start).Seconds()
		b.ReportMetric(perSecond, "activities/s")
		b.ReportMetric(100*perSecond/(10_000.0/60), "%-of-limit")
	}
}
