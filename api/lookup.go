package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/time/rate"

	"github.com/intercom-sync/intercom-sync/internal/members"
)

// MemberFinder is the member database as the lookup uses it
// (*members.Directory).
type MemberFinder interface {
	// FindByEmail returns members.ErrNotFound when no Active or Retired
	// member has the email.
	FindByEmail(ctx context.Context, email string) (members.Member, error)
}

// PositionFinder is the positions table (*positions.Store).
type PositionFinder interface {
	ForMember(ctx context.Context, memberNumber string) ([]string, error)
}

// LookupTimeout bounds one lookup: a database that does not answer in
// time is reported as down (503) rather than holding the caller.
const LookupTimeout = 5 * time.Second

// The lookup's default rate limit per token (LOOKUP_RATE_LIMIT_PER_MINUTE,
// LOOKUP_RATE_LIMIT_BURST): ample for support agents looking members up
// by hand, far too little to walk the member table by guessed emails.
const (
	DefaultLookupPerMinute = 120
	DefaultLookupBurst     = 20
)

// LookupHandler answers POST /api/intercom/lookup-email for support
// tools, straight from the database pools (no workflow: it only reads).
type LookupHandler struct {
	tokenHash [sha256.Size]byte
	missing   bool // no token configured: every request is answered 503
	// caller names the token in the audit log: a short fingerprint of
	// its hash, never the token.
	caller    string
	perMinute int
	burst     int
	// limits holds one token bucket per configured token, keyed by the
	// token's hash, so it is bounded by the tokens configured, whatever
	// callers send.
	limits    map[[sha256.Size]byte]*rate.Limiter
	members   MemberFinder
	positions PositionFinder
	timeout   time.Duration
	log       logrus.FieldLogger
}

// LookupOption configures a LookupHandler.
type LookupOption func(*LookupHandler)

// WithLookupRateLimit lets one token make perMinute lookups a minute, and
// burst at once; over it the answer is 429 with Retry-After. The limit is
// per process: N API replicas allow N times as much.
func WithLookupRateLimit(perMinute, burst int) LookupOption {
	return func(h *LookupHandler) { h.perMinute, h.burst = perMinute, burst }
}

// NewLookupHandler requires "Authorization: Bearer <token>". An empty
// token fails closed: every request is answered 503 {"error":
// "LOOKUP_API_TOKEN not configured"}, never served.
func NewLookupHandler(token string, m MemberFinder, p PositionFinder, log logrus.FieldLogger, opts ...LookupOption) *LookupHandler {
	h := &LookupHandler{tokenHash: sha256.Sum256([]byte(token)), missing: token == "", members: m, positions: p,
		perMinute: DefaultLookupPerMinute, burst: DefaultLookupBurst, timeout: LookupTimeout, log: log}
	for _, o := range opts {
		o(h)
	}
	h.caller = TokenFingerprint(token)
	h.limits = map[[sha256.Size]byte]*rate.Limiter{
		h.tokenHash: rate.NewLimiter(rate.Every(time.Minute/time.Duration(max(h.perMinute, 1))), max(h.burst, 1)),
	}
	return h
}

// TokenFingerprint names a token in logs: "sha256:" and the first 12 hex
// digits of its SHA-256 (`printf %s "$TOKEN" | sha256sum | cut -c1-12`).
// It tells tokens apart without revealing one: a random token cannot be
// recovered from 48 bits of its hash.
func TokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// LookupResult is the answer for a member found; a miss is {"found":false}.
// Values are as the member database holds them (phone unformatted).
type LookupResult struct {
	Found        bool     `json:"found"`
	MemberNumber string   `json:"member_number"`
	FirstName    string   `json:"firstname"`
	LastName     string   `json:"lastname"`
	Email        string   `json:"email"`
	Phone        string   `json:"phone"`
	Region       string   `json:"region"`
	Facility     string   `json:"facility"`
	Positions    []string `json:"positions"`
}

// Errors of the lookup, as the caller sees them.
const (
	errEmailRequired = "Email address is required"
	errEmailInvalid  = "Email address is invalid"
	errLookupDown    = "member lookup is temporarily unavailable; retry later"
	errRateLimited   = "too many lookups; retry later"
)

// The results of the audit log (field "result"): what a lookup found, or
// why the request was refused before one.
const (
	auditFound         = "found"
	auditNotFound      = "not_found"
	auditError         = "error"
	auditUnauthorized  = "unauthorized"
	auditNotConfigured = "not_configured"
	auditRateLimited   = "rate_limited"
	auditBadRequest    = "bad_request"
)

// ServeHTTP writes one audit line per request: the caller (the token's
// fingerprint, or "unauthenticated") and the result; for a member found,
// the member number. Never the email, nor a hash of it: emails are few
// and guessable, so a hash would be the email again for anyone holding
// the member table.
func (h *LookupHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fields := logrus.Fields{"source": "lookup", "caller": "unauthenticated"}
	audit := func(result string, level logrus.Level, msg string) {
		fields["result"] = result
		h.log.WithFields(fields).Log(level, msg)
	}
	if h.missing {
		audit(auditNotConfigured, logrus.WarnLevel, "Rejected email lookup: LOOKUP_API_TOKEN is not configured")
		writeNotConfigured(w, "LOOKUP_API_TOKEN")
		return
	}
	if !h.authorized(r) {
		audit(auditUnauthorized, logrus.WarnLevel, "Rejected email lookup: missing or wrong bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="intercom-sync"`)
		writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	fields["caller"] = h.caller
	if wait, ok := h.allow(h.tokenHash); !ok {
		audit(auditRateLimited, logrus.WarnLevel, "Rejected email lookup: rate limit of the token reached")
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeError(w, http.StatusTooManyRequests, errRateLimited)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		audit(auditBadRequest, logrus.InfoLevel, "Rejected email lookup: unreadable body")
		return
	}
	email, msg := parseLookupEmail(body)
	if msg != "" {
		audit(auditBadRequest, logrus.InfoLevel, "Rejected email lookup: "+msg)
		writeError(w, http.StatusBadRequest, msg)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	m, err := h.members.FindByEmail(ctx, email)
	if errors.Is(err, members.ErrNotFound) {
		audit(auditNotFound, logrus.InfoLevel, "Member not found by email")
		writeJSON(w, http.StatusOK, map[string]bool{"found": false})
		return
	}
	if err != nil {
		// The details (host, driver message) go to the log, not the caller.
		audit(auditError, logrus.ErrorLevel, fmt.Sprintf("Intercom email lookup failed: member database: %v", err))
		writeError(w, http.StatusServiceUnavailable, errLookupDown)
		return
	}
	fields["member_number"] = m.Number
	positions, err := h.positions.ForMember(ctx, m.Number)
	if err != nil {
		audit(auditError, logrus.ErrorLevel, fmt.Sprintf("Intercom email lookup failed: positions database: %v", err))
		writeError(w, http.StatusServiceUnavailable, errLookupDown)
		return
	}
	if positions == nil {
		positions = []string{}
	}
	audit(auditFound, logrus.InfoLevel, "Member found by email")
	writeJSON(w, http.StatusOK, LookupResult{
		Found: true, MemberNumber: m.Number, FirstName: m.FirstName, LastName: m.LastName, Email: m.Email,
		Phone: m.Phone, Region: m.Region, Facility: m.Facility, Positions: positions,
	})
}

// allow takes one lookup from the token's bucket; when it is empty it
// returns the seconds until the next one (Retry-After) and ok=false.
func (h *LookupHandler) allow(token [sha256.Size]byte) (retryAfter int, ok bool) {
	lim := h.limits[token]
	if lim == nil {
		return 60, false // a token not configured has no budget (cannot happen after authorized)
	}
	res := lim.Reserve()
	delay := res.Delay()
	if res.OK() && delay == 0 {
		return 0, true
	}
	res.Cancel() // refused: the caller does not spend a token on it
	return max(1, int(math.Ceil(delay.Seconds()))), false
}

// authorized compares the bearer token in constant time. Both sides are
// hashed first, so the comparison does not even leak the token's length.
func (h *LookupHandler) authorized(r *http.Request) bool {
	if h.missing {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// parseLookupEmail returns the trimmed email, or the 400 message: an
// empty body (or JSON null), a missing, null or blank email is
// "required"; a body that is not a JSON object (an array, a string, a
// number, broken JSON) gets "request body must be a JSON object"; an
// email that is not a string or not an address is "invalid".
func parseLookupEmail(body []byte) (string, string) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", errEmailRequired
	}
	var req struct {
		Email json.RawMessage `json:"email"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", "request body must be a JSON object"
	}
	raw := bytes.TrimSpace(req.Email)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", errEmailRequired
	}
	var email string
	if err := json.Unmarshal(raw, &email); err != nil {
		return "", errEmailInvalid
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return "", errEmailRequired
	}
	if !isEmailAddress(email) {
		return "", errEmailInvalid
	}
	return email, ""
}

// isEmailAddress accepts a bare RFC 5322 address ("a@b.example"), not a
// display-name form ("A <a@b.example>") or anything longer than the SMTP
// limit.
func isEmailAddress(s string) bool {
	if len(s) > 254 {
		return false
	}
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Name == "" && addr.Address == s
}
