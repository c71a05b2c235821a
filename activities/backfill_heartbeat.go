package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// A batch's progress: heartbeated, so a retried attempt skips what the
// last one finished.

// batchProgress is a batch's heartbeat.
type batchProgress struct {
	Done   []string            `json:"done"`
	Result BackfillBatchResult `json:"result"`
}

// heartbeatEvery records progress() every interval until stopped, and
// once more then, so that an activity waiting on the rate limit or a
// retry still shows it is alive. The SDK sends the latest details at
// most once per throttle interval (80 % of the heartbeat timeout).
func heartbeatEvery(ctx context.Context, every time.Duration, progress func() any) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, progress())
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
			activity.RecordHeartbeat(ctx, progress())
		})
	}
}

func (b *batch) progress() batchProgress {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.progressLocked()
}

func (b *batch) progressLocked() batchProgress {
	p := batchProgress{Result: b.res, Done: make([]string, 0, len(b.done))}
	for id := range b.done {
		p.Done = append(p.Done, id)
	}
	return p
}

func (b *batch) isDone(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done[id]
}
