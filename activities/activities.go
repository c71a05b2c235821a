// Package activities holds every side effect of the sync: database writes
// and Intercom calls. Each activity is idempotent — running it twice leaves
// the same state as running it once — because Temporal may run it again
// after a timeout or a worker crash.
package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Deps are what the activities need from outside. internal/app fills them
// in from the configuration; New refuses a set with one missing, so a
// process that lost a dependency fails at start, not at its first sync.
type Deps struct {
	Store       *store.Store
	Intercom    *intercom.Client
	Environment string // ENVIRONMENT_NAME, written to custom_attributes.environment
	Log         logrus.FieldLogger

	// Members and Positions feed the enrichment of Intercom contacts;
	// MemberTypes names each member's member_type (MEMBER_TYPE_MAP).
	Members     MemberDirectory
	Positions   PositionSource
	MemberTypes members.TypeMap

	// Temporal lets an activity wake another entity's workflow.
	Temporal Signaler

	// Metrics counts what only the activities see (custom attributes
	// Intercom refused).
	Metrics *metrics.Metrics

	// AdminID (INTERCOM_ADMIN_ID) is the admin on whose behalf the
	// tag-based re-sync removes its tag; empty: the token's admin (GET /me).
	// The only optional dependency.
	AdminID string
}

// Activities carries the dependencies of every activity and what they
// learn from Intercom once per process. Register one value, made by New,
// with the worker; workflows reference methods through a nil *Activities.
type Activities struct {
	Deps

	// Shared by the copies a backfill makes (see forBackfill).
	admin *adminCache
	attrs *attributeGuard
	tags  *tagCache
}

// New checks that every dependency is there and returns the activities.
func New(d Deps) (*Activities, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return &Activities{Deps: d, admin: &adminCache{}, attrs: &attributeGuard{}, tags: &tagCache{}}, nil
}

// check names the first missing dependency.
func (d Deps) check() error {
	missing := map[string]bool{
		"Store":       d.Store == nil,
		"Intercom":    d.Intercom == nil,
		"Environment": d.Environment == "",
		"Log":         d.Log == nil,
		"Members":     isNil(d.Members),
		"Positions":   isNil(d.Positions),
		"MemberTypes": d.MemberTypes.IsZero(),
		"Temporal":    isNil(d.Temporal),
		"Metrics":     d.Metrics == nil,
	}
	for _, name := range slices.Sorted(maps.Keys(missing)) {
		if missing[name] {
			return fmt.Errorf("activities: dependency %s is missing", name)
		}
	}
	return nil
}

// isNil is true for a nil interface and for an interface holding a nil
// pointer (a *members.Directory that was never opened).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// MemberDirectory is the member database (*members.Directory).
type MemberDirectory interface {
	// FindByEmail returns members.ErrNotFound when no Active or Retired
	// member has the email.
	FindByEmail(ctx context.Context, email string) (members.Member, error)
	// FindByNumber likewise, by member number (the tag-based re-sync).
	FindByNumber(ctx context.Context, number string) (members.Member, error)
}

// PositionSource is the positions table (*positions.Store).
type PositionSource interface {
	ForMember(ctx context.Context, memberNumber string) ([]string, error)
}

// Error types set on ApplicationErrors, for retry policies and for people
// reading a failure in the Temporal UI.
const (
	ErrTypeRateLimited = "IntercomRateLimited"
	ErrTypeServer      = "IntercomServerError"
	ErrTypeClient      = "IntercomClientError"
	ErrTypeAuth        = "IntercomUnauthorized"
	ErrTypeBadEvent    = "BadEvent"
)

// classify turns an Intercom error into what Temporal should do with it:
// 429 → retry no sooner than the window reset; 5xx, timeouts and network
// errors → retry with the policy's backoff; other 4xx → fail now with
// Intercom's message. The message is the whole error, with no cause
// attached: a cause would show it again in the UI, as a Go error
// ("wrapError, retryable: true") beside the real retry decision.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ie *intercom.Error
	if !errors.As(err, &ie) {
		return err // network error or timeout: retryable as is
	}
	switch ie.Kind() {
	case intercom.KindRateLimited:
		delay := time.Until(ie.ResetAt)
		if delay < time.Second {
			delay = time.Second
		}
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: delay})
	case intercom.KindServer:
		return temporal.NewApplicationError(err.Error(), ErrTypeServer)
	case intercom.KindAuth:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeAuth, nil)
	default:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeClient, nil)
	}
}

// forBackfill is a with a backfill's own settings, stated where the
// backfill starts rather than carried in its context: Intercom calls that
// wait out rate limits and retry transient failures themselves (a batch of
// a hundred entities cannot afford to fail on one 429), and the
// environment name the backfill was asked to write (as the sync script it
// replaces could be run with ENVIRONMENT_NAME=staging). The copy shares
// a's per-process caches.
func (a *Activities) forBackfill(environment string) *Activities {
	c := *a
	c.Intercom = a.Intercom.Patient(backfillPatience)
	if environment != "" {
		c.Environment = environment
	}
	return &c
}
