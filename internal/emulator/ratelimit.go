package emulator

import (
	"fmt"
	"net/http"
	"strconv"
)

// windowSeconds is the length of Intercom's rate-limit window: the
// per-minute limit is enforced as ceil(limit/6) calls per 10 seconds.
const windowSeconds = 10

// defaultWindowLimit is what X-RateLimit-Limit says on an injected 429 when
// no real limit is configured: 1000/min over six windows, as in Intercom's
// docs ("167 per 10-second window").
const defaultWindowLimit = 167

// limiter is a fixed-window counter. Windows are aligned to wall-clock
// multiples of 10 s (of Options.Now), like Intercom's X-RateLimit-Reset
// values which step by 10: 1487332510 -> 1487332520.
type limiter struct {
	window int64 // unix seconds / windowSeconds
	used   int
}

// perWindow returns the calls allowed per window, 0 when unlimited.
func (s *Server) perWindow() int {
	if s.opts.RateLimitPerMinute <= 0 {
		return 0
	}
	return (s.opts.RateLimitPerMinute + 5) / 6
}

// rateLimit takes one call from the current window and sets the
// X-RateLimit-* headers. It answers 429 itself and returns false when the
// window is used up. Without a configured limit no headers are sent.
func (s *Server) rateLimit(w http.ResponseWriter) bool {
	limit := s.perWindow()
	if limit == 0 {
		return true
	}
	s.mu.Lock()
	now := s.now().Unix()
	window := floorDiv(now, windowSeconds)
	if window != s.limiter.window {
		s.limiter = limiter{window: window}
	}
	allowed := s.limiter.used < limit
	if allowed {
		s.limiter.used++
	} else {
		s.st.counters.RateLimited++
	}
	remaining := limit - s.limiter.used
	s.mu.Unlock()

	reset := (window + 1) * windowSeconds
	setRateHeaders(w, limit, remaining, reset)
	if !allowed {
		writeRateLimited(w, limit)
	}
	return allowed
}

func setRateHeaders(w http.ResponseWriter, limit, remaining int, reset int64) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
}

// writeRateLimited writes Intercom's 429 body. Intercom's documented
// example has no request_id, so none is sent.
func writeRateLimited(w http.ResponseWriter, limit int) {
	writeErrorBody(w, http.StatusTooManyRequests, map[string]any{
		"type": "error.list",
		"errors": []errorItem{{
			Code:    "rate_limit_exceeded",
			Message: fmt.Sprintf("Exceeded rate limit of %d in 10_seconds", limit),
		}},
	})
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}
