package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/converter"
)

// MaxCodecBodyBytes bounds a codec request: the Temporal UI sends a whole
// page of history payloads at once, more than a webhook's 1 MiB.
const MaxCodecBodyBytes = 4 << 20

// codecHeaders are the request headers the Temporal UI sends to a codec
// server (X-Namespace names the namespace of the payloads).
const codecHeaders = "Authorization, Content-Type, X-Namespace"

// CodecHandler is the codec server of the Temporal UI and CLI: POST
// /codec/encode and /codec/decode run the service's payload codec, so a
// person with the token reads the histories that Temporal stores
// encrypted. The payload format is the SDK's own
// (converter.NewPayloadCodecHTTPHandler, what `temporal --codec-endpoint`
// and the UI speak); around it this handler adds what every endpoint
// here has: the bearer token, a bounded body, CORS for the UI's origins,
// JSON errors and a log line.
type CodecHandler struct {
	tokenHash [sha256.Size]byte
	missing   bool // no CODEC_AUTH_TOKEN: every request is answered 503
	origins   []string
	codec     http.Handler
	log       logrus.FieldLogger
}

// NewCodecHandler serves codec behind "Authorization: Bearer <token>". An
// empty token fails closed: every request is answered 503 {"error":
// "codec not configured"}. origins are the exact origins
// (scheme://host:port) allowed to call it from a browser.
func NewCodecHandler(token string, codec converter.PayloadCodec, origins []string, log logrus.FieldLogger) *CodecHandler {
	return &CodecHandler{tokenHash: sha256.Sum256([]byte(token)), missing: token == "", origins: origins,
		codec: converter.NewPayloadCodecHTTPHandler(codec), log: log}
}

func (h *CodecHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	fields := logrus.Fields{"source": "codec", "operation": op, "namespace": r.Header.Get("X-Namespace")}
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(h.origins, origin)
	if allowed {
		// Set on every answer, errors included, so the UI can show them.
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	w.Header().Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		// A preflight carries no Authorization: it is answered for the
		// allowed origins only, and the POST that follows is checked.
		if !allowed {
			h.log.WithFields(fields).WithField("origin", origin).Warn("Rejected codec preflight: origin not in CODEC_CORS_ORIGINS")
			writeError(w, http.StatusForbidden, "origin not allowed")
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", codecHeaders)
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if h.missing {
		h.log.WithFields(fields).Warn("Rejected codec request: CODEC_AUTH_TOKEN is not configured")
		writeError(w, http.StatusServiceUnavailable, "codec not configured")
		return
	}
	if !bearerMatches(r, h.tokenHash) {
		h.log.WithFields(fields).Warn("Rejected codec request: missing or wrong bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="intercom-sync"`)
		writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCodecBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body exceeds 4 MiB")
		} else {
			writeError(w, http.StatusBadRequest, "could not read request body")
		}
		return
	}
	fields["payloads"] = countPayloads(body)

	// The SDK's handler answers its errors in plain text: its answer is
	// buffered, so a failure reaches the caller as {"error": …}.
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	h.codec.ServeHTTP(rec, inner)
	if rec.status != http.StatusOK {
		// The caller gets the reason; the log gets it only when it is the
		// codec's own (a key id), since a JSON parser's message may quote
		// the request, and so personal data.
		msg := strings.TrimSpace(rec.body.String())
		logged := "the body is not a JSON list of payloads"
		if strings.HasPrefix(msg, "payloadcrypt:") {
			logged = msg
		}
		h.log.WithFields(fields).WithField("status", rec.status).Warnf("Codec %s refused: %s", op, logged)
		writeError(w, rec.status, msg)
		return
	}
	h.log.WithFields(fields).Info("Codec " + op)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.body.Bytes())
}

// bearerMatches compares the bearer token in constant time. Both sides
// are hashed first, so the comparison does not even leak the length.
func bearerMatches(r *http.Request, want [sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// countPayloads is for the log line only: how many payloads a request
// carries (-1 when its JSON is not a payload list).
func countPayloads(body []byte) int {
	var req struct {
		Payloads []json.RawMessage `json:"payloads"`
	}
	if json.Unmarshal(body, &req) != nil {
		return -1
	}
	return len(req.Payloads)
}

// bufferedResponse holds an answer until it is known to be a success.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
