package emulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Faults make a share of API calls fail or slow down, to test retries and
// back-off. Shares are probabilities in [0,1] drawn per call from a rand
// seeded with Seed, so a sequential test sees the same faults every run.
type Faults struct {
	// ServerErrorRate is the share of calls answered 500 before anything
	// else happens (no auth, no state change, not counted as a request).
	ServerErrorRate float64 `json:"server_error_rate"`
	// RateLimitRate is the share of calls answered 429 with rate-limit
	// headers (Remaining 0), as if another app had used the workspace quota.
	RateLimitRate float64 `json:"rate_limit_rate"`
	// TimeoutRate is the share of calls answered 408 Request Timeout,
	// which the official SDKs retry like a 429 or a 5xx.
	TimeoutRate float64 `json:"timeout_rate"`
	// SlowRate is the share of calls delayed by SlowDelay before being
	// handled normally.
	SlowRate  float64       `json:"slow_rate"`
	SlowDelay time.Duration `json:"-"`
	Seed      int64         `json:"seed"`
}

// faultsJSON is the wire form: slow_delay is a Go duration string ("250ms")
// because a bare number would be ambiguous.
type faultsJSON struct {
	ServerErrorRate float64 `json:"server_error_rate"`
	RateLimitRate   float64 `json:"rate_limit_rate"`
	TimeoutRate     float64 `json:"timeout_rate"`
	SlowRate        float64 `json:"slow_rate"`
	SlowDelay       string  `json:"slow_delay,omitempty"`
	Seed            int64   `json:"seed"`
}

// MarshalJSON writes SlowDelay as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	out := faultsJSON{ServerErrorRate: f.ServerErrorRate, RateLimitRate: f.RateLimitRate, TimeoutRate: f.TimeoutRate,
		SlowRate: f.SlowRate, Seed: f.Seed}
	if f.SlowDelay != 0 {
		out.SlowDelay = f.SlowDelay.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads SlowDelay from a duration string such as "250ms".
func (f *Faults) UnmarshalJSON(b []byte) error {
	var in faultsJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	out := Faults{ServerErrorRate: in.ServerErrorRate, RateLimitRate: in.RateLimitRate, TimeoutRate: in.TimeoutRate,
		SlowRate: in.SlowRate, Seed: in.Seed}
	if in.SlowDelay != "" {
		d, err := time.ParseDuration(in.SlowDelay)
		if err != nil {
			return fmt.Errorf("slow_delay: %w", err)
		}
		out.SlowDelay = d
	}
	*f = out
	return nil
}

func (f Faults) validate() error {
	for name, v := range map[string]float64{"server_error_rate": f.ServerErrorRate, "rate_limit_rate": f.RateLimitRate,
		"timeout_rate": f.TimeoutRate, "slow_rate": f.SlowRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s must be between 0 and 1", name)
		}
	}
	if f.ServerErrorRate+f.RateLimitRate+f.TimeoutRate > 1 {
		return fmt.Errorf("server_error_rate + rate_limit_rate + timeout_rate must not exceed 1")
	}
	if f.SlowDelay < 0 {
		return fmt.Errorf("slow_delay must not be negative")
	}
	return nil
}

// SetFaults replaces the injected faults and reseeds the fault rand with
// f.Seed, so the same sequence of calls sees the same faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	s.faults = f
	seed := uint64(f.Seed)
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// injectFault decides this call's fate. It returns true when it answered
// the call itself.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	if f.ServerErrorRate == 0 && f.RateLimitRate == 0 && f.TimeoutRate == 0 && f.SlowRate == 0 {
		s.mu.Unlock()
		return false
	}
	// Two draws per call, always, so the sequence does not depend on which
	// fault kinds are enabled.
	fail, slow := s.rng.Float64(), s.rng.Float64()
	var kind string
	switch {
	case fail < f.ServerErrorRate:
		kind = "500"
	case fail < f.ServerErrorRate+f.RateLimitRate:
		kind = "429"
	case fail < f.ServerErrorRate+f.RateLimitRate+f.TimeoutRate:
		kind = "408"
	}
	if kind != "" {
		s.st.counters.FaultsInjected++
	}
	delay := time.Duration(0)
	if kind == "" && slow < f.SlowRate && f.SlowDelay > 0 {
		delay = f.SlowDelay
		s.st.counters.SlowInjected++
	}
	now := s.now().Unix()
	s.mu.Unlock()

	switch kind {
	case "408":
		writeError(w, &apiError{status: http.StatusRequestTimeout, code: "request_timeout", message: "Request Timeout"})
		return true
	case "500":
		writeError(w, &apiError{status: http.StatusInternalServerError, code: "server_error", message: "Server Error"})
		return true
	case "429":
		limit := s.perWindow()
		if limit == 0 {
			limit = defaultWindowLimit
		}
		setRateHeaders(w, limit, 0, (floorDiv(now, windowSeconds)+1)*windowSeconds)
		writeRateLimited(w, limit)
		return true
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	return false
}
