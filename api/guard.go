package api

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
)

// DefaultMaxInFlight is the default cap on requests served at once
// (HTTP_MAX_IN_FLIGHT).
const DefaultMaxInFlight = 256

// BusyRetryAfter is the Retry-After (seconds) of a request refused because
// the server is at its in-flight cap.
const BusyRetryAfter = 1

// unlimited are the routes the in-flight cap leaves alone: the probes and
// the scrape must answer while the server is saturated, or a busy pod
// would be restarted or lose its metrics.
var unlimited = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// limitInFlight answers 503 with Retry-After once max requests are being
// served; it never queues, so a flood cannot pile up goroutines and memory.
func limitInFlight(max int, log logrus.FieldLogger) mux.MiddlewareFunc {
	slots := make(chan struct{}, max)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if unlimited[routeOf(r)] {
				next.ServeHTTP(w, r)
				return
			}
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				next.ServeHTTP(w, r)
			default:
				log.WithFields(logrus.Fields{"source": "http", "route": routeOf(r), "max_in_flight": max}).
					Warn("Refused request: too many requests in flight")
				w.Header().Set("Retry-After", strconv.Itoa(BusyRetryAfter))
				writeError(w, http.StatusServiceUnavailable, "server busy; retry later")
			}
		})
	}
}

// recoverPanics turns a panic in a handler into a JSON 500 and one
// structured log line. The panic's value is not logged, only its type and
// the stack (function names and lines): a value may carry what a handler
// was working on, personal data included.
func recoverPanics(log logrus.FieldLogger) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tw := &trackingWriter{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v) // the server's own way to abort; it logs nothing
				}
				log.WithFields(logrus.Fields{"source": "http", "method": r.Method, "route": routeOf(r),
					"panic_type": fmt.Sprintf("%T", v), "stack": string(debug.Stack())}).
					Error("Handler panicked; answered 500")
				if tw.wrote {
					// Part of an answer is out: cut the connection so the
					// client does not take it for a whole one.
					panic(http.ErrAbortHandler)
				}
				writeError(tw, http.StatusInternalServerError, "internal error")
			}()
			next.ServeHTTP(tw, r)
		})
	}
}

// trackingWriter records whether the answer has started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routeOf is the matched route's template (never the raw path).
func routeOf(r *http.Request) string {
	if cur := mux.CurrentRoute(r); cur != nil {
		if tpl, err := cur.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return "unmatched"
}

// MaxEntityIDBytes bounds an entity id taken from a webhook. Temporal
// refuses workflow ids over limit.maxIDLength (1000 by default) and caps
// Keyword search attribute values; Clerk's and Intercom's ids are well
// under 64 bytes. An id over this, or with control characters or invalid
// UTF-8, is the sender's mistake: 400, never handed to Temporal (which
// would refuse it, and a 503 would make the sender retry forever).
const MaxEntityIDBytes = 255

// checkEntityID returns why id cannot name a workflow, or "".
func checkEntityID(what, id string) string {
	switch {
	case id == "":
		return what + " is empty"
	case len(id) > MaxEntityIDBytes:
		return fmt.Sprintf("%s is %d bytes long; at most %d are accepted", what, len(id), MaxEntityIDBytes)
	case !utf8.ValidString(id):
		return what + " is not valid UTF-8"
	}
	for _, c := range id {
		if unicode.IsControl(c) {
			return what + " contains control characters"
		}
	}
	return ""
}
