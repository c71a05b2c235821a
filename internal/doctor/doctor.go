// Package doctor checks an Intercom workspace, and the settings the service
// would run with, before the first sync: does the token work, does the
// configured admin exist, can the service write its custom attributes, are
// the webhook secrets in place. With Write it also creates two throwaway
// contacts (and always deletes them again) to observe what Intercom's docs
// leave open: whether a lead keeps its external_id, how long a new contact
// takes to appear in search, and whether a search with as many IN values as
// the backfill sends is accepted.
//
// Every check is a row: the assumption the service makes, what the
// workspace showed, and what the service does about it. A false assumption
// the sync needs is a failure, and its row says which setting to change.
// Rows never hold secrets or personal data: secrets are reported as set or
// unset, admins and contacts by their Intercom ids.
package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// Status is a check's verdict.
type Status string

const (
	// Pass: the assumption holds.
	Pass Status = "ok"
	// Warn: the sync works, but not as well as it could, or the check
	// could not tell.
	Warn Status = "warn"
	// Fail: an assumption the sync needs is false.
	Fail Status = "FAIL"
	// Skip: not checked (an earlier check failed, or it needs --write).
	Skip Status = "skip"
)

// Check is one row of the report.
type Check struct {
	// ID is a stable key for scripts and tests, e.g. "token",
	// "attribute.company.created_at", "search.lag".
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Assumption is what the service takes for granted.
	Assumption string `json:"assumption"`
	// Observed is what the workspace or the configuration showed.
	Observed string `json:"observed"`
	// Service is what the service does about it.
	Service string `json:"service"`
	// Fix says what to change when the check did not pass; Setting names
	// the setting involved, if a setting can fix it.
	Fix     string `json:"fix,omitempty"`
	Setting string `json:"setting,omitempty"`
	// Data holds the measurements behind Observed (e.g. "lag_seconds",
	// "accepted"), for machines.
	Data map[string]any `json:"data,omitempty"`
}

// Report is the result of a run.
type Report struct {
	Write  bool    `json:"write"`
	Checks []Check `json:"checks"`
}

// Failed returns the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Check returns the check with that id, or nil.
func (r *Report) Check(id string) *Check {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

func (r *Report) add(c Check) *Check {
	r.Checks = append(r.Checks, c)
	return &r.Checks[len(r.Checks)-1]
}

// Options configure a run.
type Options struct {
	// Config is the service's configuration, as the workers and the API
	// would load it.
	Config config.Config
	// Write allows the throwaway records (always deleted again).
	Write bool
	// SearchTimeout bounds the wait for a new contact to appear in
	// search (default 5 minutes).
	SearchTimeout time.Duration
	// Attributes are the custom attributes to check; default
	// ServiceAttributes.
	Attributes []Attribute
	// Transport, if set, replaces http.DefaultTransport (tests validate
	// the calls against the OpenAPI description).
	Transport http.RoundTripper
}

// DefaultSearchTimeout is how long a run waits for search to show a new
// contact.
const DefaultSearchTimeout = 5 * time.Minute

// Prefix starts the external ids and emails of the throwaway records.
const Prefix = "intercom-sync-doctor-"

// doctor is one run.
type doctor struct {
	opts   Options
	cfg    config.Config
	raw    *rawClient
	ic     *intercom.Client
	report *Report
	me     *meInfo // nil until the token worked
}

// Run runs the checks and returns the report; it does not return an
// error, as every problem becomes a failed row.
func Run(ctx context.Context, opts Options) *Report {
	if opts.SearchTimeout <= 0 {
		opts.SearchTimeout = DefaultSearchTimeout
	}
	if opts.Attributes == nil {
		opts.Attributes = ServiceAttributes
	}
	cfg := opts.Config
	timeout := cfg.IntercomTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	base := cfg.IntercomAPIBaseURL
	if base == "" {
		base = "https://api.intercom.io"
	}
	d := &doctor{
		opts: opts,
		cfg:  cfg,
		raw: &rawClient{base: base, token: cfg.IntercomAccessToken,
			http: &http.Client{Timeout: timeout, Transport: opts.Transport}},
		// Patient: a 429 waits for the window, a 5xx is retried twice,
		// so a busy workspace does not turn into false failures.
		ic: intercom.New(intercom.Options{BaseURL: base, Token: cfg.IntercomAccessToken, Timeout: timeout,
			Transport: opts.Transport}).Patient(intercom.Patience{Retries: 2}),
		report: &Report{Write: opts.Write},
	}
	d.checkToken(ctx)
	d.checkRateLimit()
	d.checkAdmin(ctx)
	d.checkAttributes(ctx)
	d.checkSecrets()
	d.checkWrites(ctx)
	return d.report
}

// skip adds a row that was not checked.
func (d *doctor) skip(id, assumption, service, why string) {
	d.report.add(Check{ID: id, Status: Skip, Assumption: assumption, Observed: "not checked: " + why, Service: service})
}

// randomSuffix is 8 random hex digits for the throwaway records' ids.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
