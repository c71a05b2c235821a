package intercom

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// pacer spreads calls over Intercom's 10-second rate-limit windows using the
// X-RateLimit-Remaining/-Reset headers of the latest answer. The fleet-wide
// cap on the task queue keeps workers near the limit; the pacer keeps this
// process from running into 429s when the window is nearly spent.
type pacer struct {
	mu        sync.Mutex
	limit     int
	remaining int
	reset     time.Time
	now       func() time.Time
}

func newPacer() *pacer { return &pacer{remaining: -1, now: time.Now} }

// lowWater is the share of a window below which calls are spread out
// instead of sent at once.
const lowWater = 0.1

func (p *pacer) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.remaining < 0 || !now.Before(p.reset) {
		return 0 // nothing known, or the window has reset
	}
	left := p.reset.Sub(now)
	if p.remaining == 0 {
		return left
	}
	if p.limit > 0 && float64(p.remaining) < lowWater*float64(p.limit) {
		// Spread what is left over the rest of the window, and count this
		// call so concurrent callers queue behind each other.
		d := left / time.Duration(p.remaining+1)
		p.remaining--
		return d
	}
	return 0
}

// wait sleeps as long as the window requires and returns how long.
func (p *pacer) wait(ctx context.Context) (time.Duration, error) {
	d := p.delay()
	if d <= 0 {
		return 0, ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return d, ctx.Err()
	case <-t.C:
		return d, nil
	}
}

func (p *pacer) observe(resp *http.Response) {
	rem, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	if err != nil {
		return
	}
	reset := resetTime(resp.Header)
	if reset.IsZero() {
		return
	}
	limit, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Limit"))
	p.mu.Lock()
	defer p.mu.Unlock()
	// Answers arrive out of order: keep the newest window's lowest count.
	if reset.After(p.reset) || (reset.Equal(p.reset) && rem < p.remaining) || p.remaining < 0 {
		p.reset, p.remaining = reset, rem
		if limit > 0 {
			p.limit = limit
		}
	}
}
