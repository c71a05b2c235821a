package activities

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

func TestClassify(t *testing.T) {
	reset := time.Now().Add(7 * time.Second)
	cases := []struct {
		err          error
		typ          string
		nonRetryable bool
	}{
		{&intercom.Error{StatusCode: 400, Message: "bad 'name' parameter"}, ErrTypeClient, true},
		{&intercom.Error{StatusCode: 422, Message: "unprocessable"}, ErrTypeClient, true},
		{&intercom.Error{StatusCode: 401, Message: "Access Token Invalid"}, ErrTypeAuth, true},
		{&intercom.Error{StatusCode: 403}, ErrTypeAuth, true},
		{&intercom.Error{StatusCode: 500}, ErrTypeServer, false},
		{&intercom.Error{StatusCode: 503}, ErrTypeServer, false},
		{&intercom.Error{StatusCode: 429, ResetAt: reset}, ErrTypeRateLimited, false},
	}
	for _, tc := range cases {
		var appErr *temporal.ApplicationError
		if err := classify(tc.err); !errors.As(err, &appErr) || appErr.Type() != tc.typ || appErr.NonRetryable() != tc.nonRetryable {
			t.Errorf("classify(%v) = %v, want %s (non-retryable %v)", tc.err, err, tc.typ, tc.nonRetryable)
			continue
		}
		if tc.typ == ErrTypeClient && appErr.Message() != tc.err.Error() {
			t.Errorf("message %q, want Intercom's %q", appErr.Error(), tc.err.Error())
		}
		if tc.typ == ErrTypeRateLimited {
			if d := appErr.NextRetryDelay(); d < 5*time.Second || d > 8*time.Second {
				t.Errorf("429 NextRetryDelay = %s, want the time until the reset (~7s)", d)
			}
		}
	}
	// Network errors and timeouts stay plain errors: retried by policy.
	plain := errors.New("dial tcp: connection refused")
	if err := classify(plain); err != plain {
		t.Errorf("classify(network error) = %v", err)
	}
}
