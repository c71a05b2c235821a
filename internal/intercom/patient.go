package intercom

import "time"

// Patience makes a client's calls wait out rate limits and retry transient
// failures themselves, instead of returning them (see Client.Patient).
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
}

// Patient returns a client whose calls are patient: they retry as p says
// before returning an error. It shares c's connections, rate-limit pacing
// and observers; c itself stays as it was (its calls return every error at
// once, for Temporal's retry policy to handle).
func (c *Client) Patient(p Patience) *Client {
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 8 * time.Second
	}
	patient := *c
	patient.patience = &p
	return &patient
}

// minRateLimitWait bounds the wait after a 429 from below: a reset time in
// the past (clock skew, or no header) must not turn into a busy loop.
const minRateLimitWait = 200 * time.Millisecond
