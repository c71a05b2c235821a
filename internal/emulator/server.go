// Package emulator is an in-memory stand-in for the parts of Intercom's REST
// API 2.11 that the sync service uses: contacts (incl. search and merge),
// companies, tags, conversations, data attributes and /me.
//
// It exists so that the service can be tested end to end without a real
// workspace: responses follow the shapes of the official OpenAPI schemas
// (internal/contract validates them in tests), errors use Intercom's
// error.list envelope with the codes and messages Intercom sends, and the
// emulator reproduces the behaviour that matters for a sync: 409 conflicts on
// duplicate contacts, rejection of undefined custom attributes, 10-second
// rate-limit windows with X-RateLimit-* headers, and injectable faults.
//
// Besides the Intercom API it serves a small inspection API under
// /_emulator/ (state, reset, faults, conversation seeding) that needs no
// token and is never rate limited or counted.
package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Fixed identities of the emulated workspace. Intercom ids of admins are
// numeric strings; the app id_code is what Intercom calls the workspace id.
const (
	AdminID     = "991267"
	AdminName   = "Emulator Admin"
	AdminEmail  = "admin@emulator.test"
	WorkspaceID = "emu4app0"
)

// maxBodyBytes bounds request bodies; Intercom payloads are small JSON.
const maxBodyBytes = 4 << 20

// Options configure a Server. The zero value is a usable emulator that
// accepts any bearer token and never rate limits.
type Options struct {
	// Token, if non-empty, is the only accepted access token. If empty any
	// non-empty bearer token is accepted.
	Token string
	// RateLimitPerMinute is the app's per-minute limit; 0 means unlimited.
	// Like Intercom it is enforced in 10-second windows of
	// ceil(limit/6) calls aligned to wall-clock 10 s boundaries.
	RateLimitPerMinute int
	// Faults injected from the start (see SetFaults).
	Faults Faults
	// Now is the clock for timestamps and rate-limit windows; tests set it
	// to control time. Defaults to time.Now.
	Now func() time.Time
	// SearchIndexDelay is how far POST /contacts/search lags writes, like
	// Intercom's search index which may lag "a few minutes": contacts
	// created within it are not found, contacts updated within it are
	// matched and shown with their values from before the update (see
	// index.go). GET by id, list and the 409 duplicate checks see writes
	// at once. Zero means the default of 2 s; Loose.NoSearchLag turns the
	// lag off.
	SearchIndexDelay time.Duration
	// Loose switches off strict rules one by one; the zero value is the
	// strictest emulator.
	Loose Loose
}

// Loose holds one flag per strict rule of the emulator. Each rule follows
// Intercom's documentation where it says something, and otherwise picks the
// answer that is harder on the sync; setting a flag restores the more
// forgiving behaviour.
type Loose struct {
	// ArchivedWritable lets archived contacts be read and written by id
	// (GET/PUT/DELETE /contacts/{id}, companies, tags, merge) as if they
	// were live. Strict: an archived contact answers 404 not_found "User
	// Not Found" to everything except POST /contacts/{id}/unarchive. The
	// spec only says "You can archive a single contact" and documents no
	// behaviour by id, so strict treats an archived contact as gone until
	// unarchived. Either way search and list hide it, and creating its
	// duplicate is the 409 "An archived contact matching those details
	// already exists with id=<id>" (ENDPOINTS.md, PR #543).
	ArchivedWritable bool
	// UsersShareEmail lets users with different external_ids share an
	// email; an email matching a user without an external_id is still a
	// 409. Intercom's help says users with different user ids may share
	// an email, but not what a workspace enforces, so strict keeps the
	// rule that is harder on the sync: a user's email is unique among
	// users (case-insensitively). Leads may share emails either way.
	UsersShareEmail bool
	// NoSearchLag makes search see every write at once, whatever
	// SearchIndexDelay says. Strict: search lags writes by
	// SearchIndexDelay (default 2 s); Intercom's docs warn that new and
	// updated contacts may take a while to appear in search results.
	NoSearchLag bool
	// LargeSearchFilters accepts an IN or NIN of more than 15 values.
	// Strict: 400, since the spec documents IN as a shortcut for an OR
	// group, and an OR group as at most 15 filters.
	LargeSearchFilters bool
	// LeadsKeepExternalID stores an external_id sent for a lead. Strict:
	// on POST and PUT /contacts an external_id is dropped when the contact
	// is (or stays) a lead, so it is not stored, searchable or rendered,
	// as Segment's Intercom destination documents: "When creating a lead,
	// Intercom doesn't accept an external_id". A lead turned into a user
	// in the same request keeps it. Seeded contacts are stored as given.
	LeadsKeepExternalID bool
	// UsersBecomeLeads lets PUT /contacts/{id} set role "lead" on a user.
	// Strict: 400 parameter_invalid "A user cannot be converted to a
	// lead" (field role). Intercom documents converting leads to users
	// (PUT role, POST /contacts/merge from a lead into a user) and no way
	// back.
	UsersBecomeLeads bool
	// AnyAttributeName lets POST /data_attributes (and AddDataAttribute)
	// create a custom attribute named like a standard attribute of its
	// model (company created_at, contact email, ...: builtinAttributes).
	// Strict: 400 parameter_invalid "You already have '<name>' in your
	// <model> data. ..." (the spec's message for a taken name). Writing a
	// custom attribute that was never defined is a 400 "Custom attribute
	// '<name>' does not exist" whatever this flag says.
	AnyAttributeName bool
	// ListsEveryCompany makes GET /companies and POST /companies/list list
	// every company in creation order, without a cap. Strict, as the
	// spec's POST /companies/list describes: companies without users are
	// left out, the order is last_request_at descending (the latest
	// last_seen_at of a company's contacts), and at most 10,000 are
	// returned. GET /companies/scroll lists every company either way.
	ListsEveryCompany bool
	// FullEmbeddedLists embeds every company and tag in a contact object.
	// Strict: the embedded companies and tags hold at most 10 entries,
	// with total_count the full count and has_more true when some are left
	// out, as the spec's contact_companies and contact_tags say ("Up to 10
	// will be displayed here. Use the url to get more"); the full lists
	// are GET /contacts/{id}/companies and GET /contacts/{id}/tags.
	FullEmbeddedLists bool
}

// Server is the emulator. It implements http.Handler and is safe for
// concurrent use: all state sits behind one mutex, which keeps every
// request atomic (e.g. exactly one of many concurrent creates with the same
// external_id wins).
type Server struct {
	opts Options
	now  func() time.Time
	mux  *http.ServeMux

	mu      sync.Mutex
	st      *store
	faults  Faults
	rng     *rand.Rand
	limiter limiter
}

// New returns an emulator with empty state apart from Intercom's built-in
// data attributes.
func New(opts Options) *Server {
	s := &Server{opts: opts, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.resetLocked()
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Reset drops all data and counters, and restores the faults given in
// Options, as if the server had just been created.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.st = newStore(s.now())
	s.limiter = limiter{}
	s.setFaultsLocked(s.opts.Faults)
}

// routes registers every endpoint. The pattern strings double as the
// "METHOD /path-template" keys of Counters.ByEndpoint, so the wildcards are
// named as in the OpenAPI paths.
func (s *Server) routes() {
	api := func(pattern string, h handler) {
		s.mux.HandleFunc(pattern, s.api(pattern, h))
	}
	api("GET /me", s.getMe)

	api("POST /contacts", s.createContact)
	api("GET /contacts", s.listContacts)
	api("POST /contacts/search", s.searchContacts)
	api("POST /contacts/merge", s.mergeContacts)
	api("GET /contacts/{contact_id}", s.getContact)
	api("PUT /contacts/{contact_id}", s.updateContact)
	api("DELETE /contacts/{contact_id}", s.deleteContact)
	api("POST /contacts/{contact_id}/archive", s.archiveContact)
	api("POST /contacts/{contact_id}/unarchive", s.unarchiveContact)
	api("GET /contacts/{contact_id}/companies", s.listContactCompanies)
	api("POST /contacts/{contact_id}/companies", s.attachCompany)
	api("DELETE /contacts/{contact_id}/companies/{company_id}", s.detachCompany)
	api("GET /contacts/{contact_id}/tags", s.listContactTags)
	api("POST /contacts/{contact_id}/tags", s.tagContact)
	api("DELETE /contacts/{contact_id}/tags/{tag_id}", s.untagContact)

	api("POST /companies", s.upsertCompany)
	api("GET /companies", s.getCompanies)
	api("POST /companies/list", s.listAllCompanies)
	api("GET /companies/scroll", s.scrollCompanies)
	api("GET /companies/{company_id}/contacts", s.listCompanyContacts)
	api("GET /companies/{company_id}", s.getCompany)
	api("PUT /companies/{company_id}", s.updateCompany)
	api("DELETE /companies/{company_id}", s.deleteCompany)

	api("POST /tags", s.postTags)
	api("GET /tags", s.listTags)

	api("GET /conversations/{conversation_id}", s.getConversation)
	api("PUT /conversations/{conversation_id}", s.updateConversation)
	api("POST /conversations/{conversation_id}/tags", s.tagConversation)
	api("DELETE /conversations/{conversation_id}/tags/{tag_id}", s.untagConversation)

	api("GET /data_attributes", s.listDataAttributes)
	api("POST /data_attributes", s.createDataAttribute)
	api("PUT /data_attributes/{data_attribute_id}", s.updateDataAttribute)

	// Anything else behind auth answers like Intercom does for an unknown
	// route, with a JSON 404 rather than net/http's text/plain page. It is
	// not an endpoint, so it is not counted in Counters.
	s.mux.HandleFunc("/", s.api("", func(*call) (any, *apiError) {
		return nil, errNotFound("Resource Not Found")
	}))

	s.inspectionRoutes()
}

// call is one authenticated API request that reached the API logic. The
// body is read before the state lock is taken so a slow client cannot stall
// other requests.
type call struct {
	r    *http.Request
	body []byte
	now  time.Time
}

// handler runs with s.mu held. It returns the 200 body or an error.
type handler func(c *call) (any, *apiError)

// api wraps a handler with what Intercom does before any endpoint logic, in
// this order: injected faults (which happen "before anything", like a
// failing load balancer), authentication, rate limiting, then the endpoint,
// counted in Counters.
func (s *Server) api(pattern string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.injectFault(w, r) {
			return
		}
		if !s.authorized(r) {
			s.mu.Lock()
			s.st.counters.Unauthorized++
			s.mu.Unlock()
			writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "Access Token Invalid"})
			return
		}
		if !s.rateLimit(w) {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			writeError(w, badRequest("Request body could not be read"))
			return
		}

		s.mu.Lock()
		c := &call{r: r, body: body, now: s.now()}
		if pattern != "" {
			s.st.count(pattern, r.Method)
		}
		resp, apiErr := h(c)
		// Encode while still holding the lock. Renderers copy what they
		// take from the state, but encoding here means one that forgot to
		// copy a map still cannot race with the next writer.
		var buf []byte
		if apiErr == nil {
			buf, err = json.Marshal(resp)
		}
		s.mu.Unlock()

		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
		if err != nil {
			writeError(w, &apiError{status: http.StatusInternalServerError, code: "server_error", message: "Server Error"})
			return
		}
		writeRaw(w, http.StatusOK, buf)
	}
}

// authorized applies Options.Token; Intercom only accepts Bearer tokens.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !equalFoldASCII(h[:len(prefix)], prefix) {
		return false
	}
	token := h[len(prefix):]
	if s.opts.Token == "" {
		return token != ""
	}
	return token == s.opts.Token
}

func equalFoldASCII(a, b string) bool {
	return bytes.EqualFold([]byte(a), []byte(b))
}

// apiError is an Intercom error: HTTP status plus one entry of the
// error.list envelope.
type apiError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errNotFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: msg}
}

func errUserNotFound() *apiError { return errNotFound("User Not Found") }

func errCompanyNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: "company_not_found", message: "Company Not Found"}
}

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", message: msg}
}

func paramInvalid(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "parameter_invalid", message: msg}
}

func paramNotFound(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "parameter_not_found", message: msg}
}

func conflict(msg string) *apiError {
	return &apiError{status: http.StatusConflict, code: "conflict", message: msg}
}

type errorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type errorList struct {
	Type      string      `json:"type"`
	RequestID string      `json:"request_id"`
	Errors    []errorItem `json:"errors"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeErrorBody(w, e.status, errorList{
		Type:      "error.list",
		RequestID: newUUID(),
		Errors:    []errorItem{{Code: e.code, Message: e.message, Field: e.field}},
	})
}

func writeErrorBody(w http.ResponseWriter, status int, body any) {
	buf, err := json.Marshal(body)
	if err != nil {
		buf = []byte(`{"type":"error.list","errors":[{"code":"server_error","message":"Server Error"}]}`)
		status = http.StatusInternalServerError
	}
	writeRaw(w, status, buf)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{status: http.StatusInternalServerError, code: "server_error", message: err.Error()})
		return
	}
	writeRaw(w, status, buf)
}
