package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

const lookupToken = "lookup-token-for-tests"

// lookupDeps opens the demo member database (deploy/local/members.sql) and
// a migrated app database with some positions, as `make run` has them.
func lookupDeps(t testing.TB) (*members.Directory, *positions.Store) {
	t.Helper()
	dsn, _ := testenv.Members(t)
	dir, err := members.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	_, pgURL := testenv.Store(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO member_positions (membernumber, position) VALUES
		('100001', 'Facility President'), ('100001', 'Area Representative'), ('100008', 'Facility Representative')`); err != nil {
		t.Fatal(err)
	}
	ps, err := positions.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Close)
	return dir, ps
}

func bearer(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return h
}

func lookupBody(email string) []byte {
	b, _ := json.Marshal(map[string]string{"email": email})
	return b
}

func TestLookupFound(t *testing.T) {
	dir, ps := lookupDeps(t)
	log, hook := logtest.NewNullLogger()
	h := NewLookupHandler(lookupToken, dir, ps, log)
	rec, out := postTo(t, h, "/api/intercom/lookup-email", lookupBody("  ADA.LOVELACE@example.com "), bearer(lookupToken))
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %v", rec.Code, out)
	}
	var got LookupResult
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := LookupResult{Found: true, MemberNumber: "100001", FirstName: "Ada", LastName: "Lovelace",
		Email: "ada.lovelace@example.com", Phone: "(765) 465-7031", Region: "R1", Facility: "F101",
		Positions: []string{"Area Representative", "Facility President"}}
	if !jsonEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Exactly the documented keys.
	keys := []string{"found", "member_number", "firstname", "lastname", "email", "phone", "region", "facility", "positions"}
	if len(out) != len(keys) {
		t.Fatalf("keys %v", out)
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			t.Fatalf("no %s in %v", k, out)
		}
	}
	// Logged with the member number, not the email.
	for _, e := range hook.AllEntries() {
		if line, _ := e.String(); strings.Contains(strings.ToLower(line), "ada.lovelace") {
			t.Fatalf("log line carries the email: %s", line)
		}
	}
	if e := hook.LastEntry(); e == nil || e.Data["member_number"] != "100001" {
		t.Fatalf("last log entry %+v", e)
	}
}

func TestLookupMatchingRules(t *testing.T) {
	dir, ps := lookupDeps(t)
	h := NewLookupHandler(lookupToken, dir, ps, testenv.Logger(t))
	for email, want := range map[string]string{
		"ken@example.com":            "100008", // an Inactive and an Active record: the Active one
		"alan.turing@example.com":    "100003", // Retired counts
		"barbara.liskov@example.com": "",       // Inactive does not
		"nobody@example.com":         "",
	} {
		rec, out := postTo(t, h, "/api/intercom/lookup-email", lookupBody(email), bearer(lookupToken))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %v", email, rec.Code, out)
		}
		if want == "" {
			if len(out) != 1 || out["found"] != false {
				t.Errorf("%s: %v, want {\"found\":false}", email, out)
			}
			continue
		}
		if out["found"] != true || out["member_number"] != want {
			t.Errorf("%s: %v, want member %s", email, out, want)
		}
	}
	// A member without positions gets [], not null.
	rec, _ := postTo(t, h, "/api/intercom/lookup-email", lookupBody("grace.hopper@example.com"), bearer(lookupToken))
	if !bytes.Contains(rec.Body.Bytes(), []byte(`"positions":[]`)) {
		t.Fatalf("no positions: %s", rec.Body)
	}
}

func TestLookupAuth(t *testing.T) {
	dir, ps := lookupDeps(t)
	h := NewLookupHandler(lookupToken, dir, ps, testenv.Logger(t))
	body := lookupBody("ada.lovelace@example.com")
	basic := http.Header{}
	basic.Set("Authorization", "Basic "+lookupToken)
	for name, hdr := range map[string]http.Header{
		"no header":        {},
		"wrong token":      bearer("nope"),
		"token prefix":     bearer(lookupToken[:10]),
		"token plus extra": bearer(lookupToken + "x"),
		"basic scheme":     basic,
		"empty bearer":     bearer(""),
	} {
		rec, out := postTo(t, h, "/api/intercom/lookup-email", body, hdr)
		if rec.Code != http.StatusUnauthorized || out["error"] == "" || out["found"] != nil {
			t.Errorf("%s: %d %v, want 401", name, rec.Code, out)
		}
		if rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", name)
		}
	}
	lower := http.Header{}
	lower.Set("Authorization", "bearer "+lookupToken)
	if rec, out := postTo(t, h, "/api/intercom/lookup-email", body, lower); rec.Code != 200 || out["found"] != true {
		t.Fatalf("scheme is case-insensitive: %d %v", rec.Code, out)
	}
	// No token configured: closed, whatever the request carries.
	closed := NewLookupHandler("", dir, ps, testenv.Logger(t))
	for name, hdr := range map[string]http.Header{"no header": nil, "empty bearer": bearer(""), "some token": bearer(lookupToken)} {
		rec, out := postTo(t, closed, "/api/intercom/lookup-email", body, hdr)
		if rec.Code != http.StatusServiceUnavailable || out["error"] != "LOOKUP_API_TOKEN not configured" || out["found"] != nil {
			t.Errorf("no token configured, %s: %d %v; want 503 LOOKUP_API_TOKEN not configured", name, rec.Code, out)
		}
	}
}

func TestLookupBadRequests(t *testing.T) {
	dir, ps := lookupDeps(t)
	h := NewLookupHandler(lookupToken, dir, ps, testenv.Logger(t))
	big := append([]byte(`{"email":"a@b.example","pad":"`), bytes.Repeat([]byte("x"), MaxBodyBytes)...)
	big = append(big, `"}`...)
	for _, tc := range []struct {
		name, body string
		code       int
		msg        string
	}{
		{"empty body", ``, 400, errEmailRequired},
		{"empty object", `{}`, 400, errEmailRequired},
		{"null", `{"email":null}`, 400, errEmailRequired},
		{"empty", `{"email":""}`, 400, errEmailRequired},
		{"blank", `{"email":"   "}`, 400, errEmailRequired},
		{"not an email", `{"email":"john.doe"}`, 400, errEmailInvalid},
		{"two ats", `{"email":"a@b@c.example"}`, 400, errEmailInvalid},
		{"display name", `{"email":"John <john@example.com>"}`, 400, errEmailInvalid},
		{"a number", `{"email":42}`, 400, errEmailInvalid},
		{"an object", `{"email":{"x":1}}`, 400, errEmailInvalid},
		{"too long", `{"email":"` + strings.Repeat("a", 250) + `@example.com"}`, 400, errEmailInvalid},
		{"malformed JSON", `{"email":`, 400, "request body must be a JSON object"},
		{"over 1 MiB", string(big), 413, "request body exceeds 1 MiB"},
	} {
		rec, out := postTo(t, h, "/api/intercom/lookup-email", []byte(tc.body), bearer(lookupToken))
		if rec.Code != tc.code || out["error"] != tc.msg {
			t.Errorf("%s: %d %v, want %d %q", tc.name, rec.Code, out, tc.code, tc.msg)
		}
	}
}

// A database that is down answers 503 with a JSON error that says nothing
// about hosts, drivers or queries.
func TestLookupDatabaseDown(t *testing.T) {
	dir, ps := lookupDeps(t)
	body := lookupBody("ada.lovelace@example.com")

	deadMembers, err := members.Open("members_ro:members_ro@tcp(127.0.0.1:1)/members")
	if err != nil {
		t.Fatal(err)
	}
	defer deadMembers.Close()
	closedMembers, _ := lookupDeps(t)
	_ = closedMembers.Close()
	deadPositions, err := positions.Open(context.Background(), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer deadPositions.Close()
	_, closedPositions := lookupDeps(t)
	closedPositions.Close()

	for name, h := range map[string]*LookupHandler{
		"member database unreachable": NewLookupHandler(lookupToken, deadMembers, ps, testenv.Logger(t)),
		"member pool closed":          NewLookupHandler(lookupToken, closedMembers, ps, testenv.Logger(t)),
		"positions unreachable":       NewLookupHandler(lookupToken, dir, deadPositions, testenv.Logger(t)),
		"positions pool closed":       NewLookupHandler(lookupToken, dir, closedPositions, testenv.Logger(t)),
	} {
		rec, out := postTo(t, h, "/api/intercom/lookup-email", body, bearer(lookupToken))
		if rec.Code != http.StatusServiceUnavailable || out["error"] != errLookupDown || len(out) != 1 {
			t.Errorf("%s: %d %v, want 503 %q", name, rec.Code, out, errLookupDown)
		}
		for _, leak := range []string{"127.0.0.1", "tcp", "dial", "sql", "postgres", "mysql", "closed"} {
			if strings.Contains(strings.ToLower(rec.Body.String()), leak) {
				t.Errorf("%s: answer leaks %q: %s", name, leak, rec.Body)
			}
		}
	}
	// An unknown email with the member database down is still 503, never
	// a false "not found".
	h := NewLookupHandler(lookupToken, deadMembers, ps, testenv.Logger(t))
	if rec, out := postTo(t, h, "/api/intercom/lookup-email", lookupBody("nobody@example.com"), bearer(lookupToken)); rec.Code != 503 {
		t.Fatalf("%d %v", rec.Code, out)
	}
}

func TestLookupRoute(t *testing.T) {
	dir, ps := lookupDeps(t)
	r := Routes{Clerk: http.NotFoundHandler(), Lookup: NewLookupHandler(lookupToken, dir, ps, testenv.Logger(t))}.Router()
	srv := httptest.NewServer(r)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/intercom/lookup-email", bytes.NewReader(lookupBody("ada.lovelace@example.com")))
	req.Header = bearer(lookupToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out["member_number"] != "100001" {
		t.Fatalf("%d %v %v", resp.StatusCode, out, err)
	}
	resp2, err := http.Get(srv.URL + "/api/intercom/lookup-email")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET = %d", resp2.StatusCode)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// Every request leaves one audit line naming the caller (the token's
// fingerprint, never the token) and the result; none carries the email,
// in any form, or the token.
func TestLookupAuditLog(t *testing.T) {
	dir, ps := lookupDeps(t)
	deadMembers, err := members.Open("members_ro:members_ro@tcp(127.0.0.1:1)/members")
	if err != nil {
		t.Fatal(err)
	}
	defer deadMembers.Close()
	fingerprint := TokenFingerprint(lookupToken)
	sum := sha256.Sum256([]byte(lookupToken))
	if fingerprint != "sha256:"+hex.EncodeToString(sum[:])[:12] {
		t.Fatalf("fingerprint %q", fingerprint)
	}
	for _, c := range []struct {
		name, email, token, caller, result, member string
		finder                                     MemberFinder
	}{
		{"found", "ada.lovelace@example.com", lookupToken, fingerprint, "found", "100001", dir},
		{"not found", "nobody.here@example.com", lookupToken, fingerprint, "not_found", "", dir},
		{"database down", "ada.lovelace@example.com", lookupToken, fingerprint, "error", "", deadMembers},
		{"bad request", "not-an-email", lookupToken, fingerprint, "bad_request", "", dir},
		{"wrong token", "ada.lovelace@example.com", "wrong-token", "unauthenticated", "unauthorized", "", dir},
	} {
		t.Run(c.name, func(t *testing.T) {
			log, hook := logtest.NewNullLogger()
			h := NewLookupHandler(lookupToken, c.finder, ps, log)
			postTo(t, h, "/api/intercom/lookup-email", lookupBody(c.email), bearer(c.token))
			entries := hook.AllEntries()
			if len(entries) != 1 {
				t.Fatalf("%d log lines, want one audit line: %v", len(entries), entries)
			}
			e := entries[0]
			if e.Data["caller"] != c.caller || e.Data["result"] != c.result || e.Data["source"] != "lookup" {
				t.Fatalf("audit line %q %v, want caller %s result %s", e.Message, e.Data, c.caller, c.result)
			}
			if got, _ := e.Data["member_number"].(string); got != c.member {
				t.Fatalf("member_number %q, want %q", got, c.member)
			}
			emailSum := sha256.Sum256([]byte(c.email))
			line, _ := e.String()
			for _, secret := range []string{c.email, strings.Split(c.email, "@")[0], hex.EncodeToString(emailSum[:])[:12], lookupToken, "wrong-token"} {
				if strings.Contains(strings.ToLower(line), strings.ToLower(secret)) {
					t.Fatalf("audit line carries %q: %s", secret, line)
				}
			}
		})
	}
}

// One token gets burst lookups at once, then 429 JSON with Retry-After;
// refused and unauthenticated requests spend nothing from its bucket.
func TestLookupRateLimit(t *testing.T) {
	dir, ps := lookupDeps(t)
	log, hook := logtest.NewNullLogger()
	h := NewLookupHandler(lookupToken, dir, ps, log, WithLookupRateLimit(1, 2))
	body := lookupBody("ada.lovelace@example.com")
	// Wrong tokens do not drain the real token's bucket.
	for range 5 {
		if rec, _ := postTo(t, h, "/api/intercom/lookup-email", body, bearer("wrong")); rec.Code != 401 {
			t.Fatalf("wrong token: %d", rec.Code)
		}
	}
	for i := range 2 {
		if rec, out := postTo(t, h, "/api/intercom/lookup-email", body, bearer(lookupToken)); rec.Code != 200 || out["found"] != true {
			t.Fatalf("lookup %d within the burst: %d %v", i+1, rec.Code, out)
		}
	}
	for range 3 {
		rec, out := postTo(t, h, "/api/intercom/lookup-email", body, bearer(lookupToken))
		if rec.Code != http.StatusTooManyRequests || out["error"] != errRateLimited || len(out) != 1 {
			t.Fatalf("over the limit: %d %v, want 429 %q", rec.Code, out, errRateLimited)
		}
		// One lookup a minute: the next one is about a minute away.
		if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 55 || ra > 60 {
			t.Fatalf("Retry-After %q, want about 60 s", rec.Header().Get("Retry-After"))
		}
	}
	if e := hook.LastEntry(); e.Data["result"] != "rate_limited" || e.Data["caller"] != TokenFingerprint(lookupToken) {
		t.Fatalf("audit of a refused lookup: %v", e.Data)
	}
	// Another handler (another process, another token's bucket) has its own budget.
	other := NewLookupHandler("another-token", dir, ps, log, WithLookupRateLimit(1, 2))
	if rec, _ := postTo(t, other, "/api/intercom/lookup-email", body, bearer("another-token")); rec.Code != 200 {
		t.Fatalf("another token: %d", rec.Code)
	}
}

// The default limit lets support tools work (a burst of 20) and stops a
// walk over guessed emails.
func TestLookupDefaultRateLimit(t *testing.T) {
	dir, ps := lookupDeps(t)
	h := NewLookupHandler(lookupToken, dir, ps, testenv.Logger(t))
	codes := map[int]int{}
	for range DefaultLookupBurst + 5 {
		rec, _ := postTo(t, h, "/api/intercom/lookup-email", lookupBody("guess@example.com"), bearer(lookupToken))
		codes[rec.Code]++
	}
	if codes[200] < DefaultLookupBurst || codes[200] > DefaultLookupBurst+1 || codes[429] < 4 {
		t.Fatalf("answers %v, want %d (or one more) 200s, then 429s", codes, DefaultLookupBurst)
	}
}
