package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

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

// LookupHandler answers POST /api/intercom/lookup-email for support
// tools, straight from the database pools (no workflow: it only reads).
type LookupHandler struct {
	tokenHash [sha256.Size]byte
	missing   bool // no token configured: every request is answered 503
	members   MemberFinder
	positions PositionFinder
	timeout   time.Duration
	log       logrus.FieldLogger
}

// NewLookupHandler requires "Authorization: Bearer <token>". An empty
// token fails closed: every request is answered 503 {"error":
// "LOOKUP_API_TOKEN not configured"}, never served.
func NewLookupHandler(token string, m MemberFinder, p PositionFinder, log logrus.FieldLogger) *LookupHandler {
	return &LookupHandler{tokenHash: sha256.Sum256([]byte(token)), missing: token == "", members: m, positions: p,
		timeout: LookupTimeout, log: log}
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
)

func (h *LookupHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fields := logrus.Fields{"source": "lookup"}
	if h.missing {
		h.log.WithFields(fields).Warn("Rejected email lookup: LOOKUP_API_TOKEN is not configured")
		writeNotConfigured(w, "LOOKUP_API_TOKEN")
		return
	}
	if !h.authorized(r) {
		h.log.WithFields(fields).Warn("Rejected email lookup: missing or wrong bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="intercom-sync"`)
		writeError(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	email, msg := parseLookupEmail(body)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	m, err := h.members.FindByEmail(ctx, email)
	if errors.Is(err, members.ErrNotFound) {
		h.log.WithFields(fields).Info("Member not found by email")
		writeJSON(w, http.StatusOK, map[string]bool{"found": false})
		return
	}
	if err != nil {
		// The details (host, driver message) go to the log, not the caller.
		h.log.WithFields(fields).Errorf("Intercom email lookup failed: member database: %v", err)
		writeError(w, http.StatusServiceUnavailable, errLookupDown)
		return
	}
	fields["member_number"] = m.Number
	positions, err := h.positions.ForMember(ctx, m.Number)
	if err != nil {
		h.log.WithFields(fields).Errorf("Intercom email lookup failed: positions database: %v", err)
		writeError(w, http.StatusServiceUnavailable, errLookupDown)
		return
	}
	if positions == nil {
		positions = []string{}
	}
	h.log.WithFields(fields).Info("Member found by email")
	writeJSON(w, http.StatusOK, LookupResult{
		Found: true, MemberNumber: m.Number, FirstName: m.FirstName, LastName: m.LastName, Email: m.Email,
		Phone: m.Phone, Region: m.Region, Facility: m.Facility, Positions: positions,
	})
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
