// Package api is the service's HTTP surface: webhook receivers that verify,
// parse and hand each event to Temporal, and health endpoints. Nothing slow
// happens in a handler; a 2xx means the event is durably recorded in
// Temporal.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// MaxBodyBytes bounds every request body (1 MiB).
const MaxBodyBytes = 1 << 20

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeNotConfigured answers 503 {"error":"<setting> not configured"}: an
// endpoint whose secret is missing fails closed, and 503 (not 4xx) makes
// the sender retry once the setting is fixed.
func writeNotConfigured(w http.ResponseWriter, setting string) {
	writeError(w, http.StatusServiceUnavailable, setting+" not configured")
}

// readBody reads at most MaxBodyBytes; it answers 413 or 400 itself and
// returns ok=false when the body is unusable.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds 1 MiB")
		} else {
			writeError(w, http.StatusBadRequest, "could not read request body")
		}
		return nil, false
	}
	return body, true
}
