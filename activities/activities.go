// Package activities holds every side effect of the sync: database writes
// and Intercom calls. Each activity is idempotent — running it twice leaves
// the same state as running it once — because Temporal may run it again
// after a timeout or a worker crash.
package activities

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Activities carries the dependencies of every activity. Register one value
// with the worker; workflows reference methods through a nil *Activities.
type Activities struct {
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

	// AdminID (INTERCOM_ADMIN_ID) is the admin on whose behalf the
	// tag-based re-sync removes its tag; empty: the token's admin (GET /me).
	AdminID string
	admin   adminCache

	attrs attributeGuard
	tags  tagCache
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
// Intercom's message.
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
			temporal.ApplicationErrorOptions{NextRetryDelay: delay, Cause: err})
	case intercom.KindServer:
		return temporal.NewApplicationErrorWithCause(err.Error(), ErrTypeServer, err)
	case intercom.KindAuth:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeAuth, err)
	default:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeClient, err)
	}
}

type environmentKey struct{}

// withEnvironment makes the pushes made with ctx write env as
// custom_attributes.environment instead of ENVIRONMENT_NAME: a backfill can
// be told to write another name, as the reference's sync script could
// (ENVIRONMENT_NAME=staging).
func withEnvironment(ctx context.Context, env string) context.Context {
	return context.WithValue(ctx, environmentKey{}, env)
}

// environment is the custom_attributes.environment the pushes of ctx write.
func (a *Activities) environment(ctx context.Context) string {
	if env, ok := ctx.Value(environmentKey{}).(string); ok && env != "" {
		return env
	}
	return a.Environment
}

func (a *Activities) log() logrus.FieldLogger {
	if a.Log == nil {
		return logrus.StandardLogger()
	}
	return a.Log
}
