package intercom

import (
	"context"
	"errors"
	"time"
)

// Patience makes the calls made with a context wait out rate limits and
// retry transient failures themselves, instead of returning them.
//
// A sync of one entity returns such errors so that Temporal retries the
// activity (a 429 with NextRetryDelay). A bulk activity working through a
// hundred entities cannot afford that: one rate-limited call would throw
// the attempt away and re-read everything on retry. Every write the sync
// makes is safe to repeat (updates, attaches and company upserts are
// idempotent; a repeated create answers 409 naming the contact, which the
// callers turn into an update; a repeated delete answers 404, which they
// count as done), so repeating a call is too.
type Patience struct {
	// Retries is how many times a 5xx, a network error or a timeout is
	// retried before the error is returned. 429s are not counted: a
	// rate-limited call changed nothing and is retried after the window
	// resets for as long as the context lives.
	Retries int
	// Backoff is the wait before the first retry of a transient error,
	// doubling up to MaxBackoff. Defaults: 500 ms and 8 s.
	Backoff, MaxBackoff time.Duration
	// OnRetry, if set, is told of every retry: the error and the wait.
	OnRetry func(err error, wait time.Duration)
}

type patienceKey struct{}

// WithPatience returns a context whose calls are patient (see Patience).
func WithPatience(ctx context.Context, p Patience) context.Context {
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 8 * time.Second
	}
	return context.WithValue(ctx, patienceKey{}, p)
}

// minRateLimitWait bounds the wait after a 429 from below: a reset time in
// the past (clock skew, or no header) must not turn into a busy loop.
const minRateLimitWait = 200 * time.Millisecond

// do sends a request, repeating it as the context's Patience allows.
func (c *Client) do(ctx context.Context, method, pathTemplate, path string, body any, out any) error {
	p, patient := ctx.Value(patienceKey{}).(Patience)
	if !patient {
		return c.doOnce(ctx, method, pathTemplate, path, body, out)
	}
	failures, backoff := 0, p.Backoff
	for {
		err := c.doOnce(ctx, method, pathTemplate, path, body, out)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var wait time.Duration
		var ie *Error
		switch {
		case errors.As(err, &ie) && ie.Kind() == KindRateLimited:
			// The pacer has seen Remaining: 0 too, so this process's other
			// calls hold back until the reset as well.
			wait = max(time.Until(ie.ResetAt), minRateLimitWait)
		case errors.As(err, &ie) && ie.Kind() != KindServer:
			return err // a 4xx: sending it again changes nothing
		default: // 5xx, network error or timeout
			if failures >= p.Retries {
				return err
			}
			failures++
			wait, backoff = backoff, min(2*backoff, p.MaxBackoff)
		}
		if p.OnRetry != nil {
			p.OnRetry(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
