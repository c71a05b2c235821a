package intercom

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Kind classifies an Intercom error for retry decisions.
type Kind int

const (
	KindClient      Kind = iota // other 4xx: a request we must not repeat as is
	KindRateLimited             // 429: retry after the window resets
	KindConflict                // 409: the resource exists; ExistingID says which
	KindNotFound                // 404
	KindServer                  // 5xx or 408: a transient failure, retry with backoff
	KindAuth                    // 401/403: the token is wrong; retrying will not help
)

func (k Kind) String() string {
	switch k {
	case KindRateLimited:
		return "rate_limited"
	case KindConflict:
		return "conflict"
	case KindNotFound:
		return "not_found"
	case KindServer:
		return "server_error"
	case KindAuth:
		return "unauthorized"
	default:
		return "client_error"
	}
}

// Retryable reports whether a request answered with this kind may succeed
// when sent again unchanged: rate limits (after the reset) and transient
// server failures (5xx, 408).
func (k Kind) Retryable() bool {
	return k == KindRateLimited || k == KindServer
}

// Error is a non-2xx answer from Intercom.
type Error struct {
	Method, Path string
	StatusCode   int
	Code         string // first error's code, e.g. "conflict", "not_found"
	Message      string // first error's message
	RequestID    string
	// ResetAt is X-RateLimit-Reset (zero if absent); set on 429.
	ResetAt time.Time
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code
	}
	return fmt.Sprintf("intercom %s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
}

// Kind returns the error's class.
func (e *Error) Kind() Kind {
	switch {
	case e.StatusCode == 429:
		return KindRateLimited
	case e.StatusCode == 409:
		return KindConflict
	case e.StatusCode == 404:
		return KindNotFound
	case e.StatusCode == 401 || e.StatusCode == 403:
		return KindAuth
	case e.StatusCode >= 500 || e.StatusCode == 408:
		// 408 Request Timeout is transient like a 5xx: the official
		// Intercom SDKs retry 408, 429 and 5xx alike.
		return KindServer
	default:
		return KindClient
	}
}

// Intercom puts the existing contact's id only in the 409 message:
// "A contact matching those details already exists with id=5da6f18e3d7cf967e4582d05".
var existingIDPattern = regexp.MustCompile(`id=([0-9a-zA-Z]+)`)

// ExistingID is the id named by a 409 conflict message, or "".
func (e *Error) ExistingID() string {
	if e.StatusCode != 409 {
		return ""
	}
	if m := existingIDPattern.FindStringSubmatch(e.Message); m != nil {
		return m[1]
	}
	return ""
}

// KindOf returns err's Kind and true if err wraps an *Error.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind(), true
	}
	return 0, false
}

// IsNotFound reports whether err is an Intercom 404.
func IsNotFound(err error) bool {
	k, ok := KindOf(err)
	return ok && k == KindNotFound
}

// ConflictID returns the existing id of a 409 and true, if err is one.
func ConflictID(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) && e.Kind() == KindConflict {
		return e.ExistingID(), true
	}
	return "", false
}
