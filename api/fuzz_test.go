package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
)

// The fuzz targets of the handlers. Their seeds are under
// testdata/fuzz/FuzzXxx; go test runs them as regular tests, and
// deploy/local/fuzz.sh fuzzes each (make test: seconds, make test-soak:
// minutes). They use no database or Temporal: fakes stand in, so a
// fuzzer runs thousands of inputs a second.

// quietLogger discards: a fuzzer would otherwise log every input.
func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// fuzzNow is the clock of the fuzzed Clerk handler: the timestamp of the
// Clerk signature vectors (testdata/svix-signature-vectors.json), so their
// seeds pass the tolerance check.
var fuzzNow = time.Unix(1738000000, 0)

// svixSignature is the v1 signature, computed here independently of the
// Svix library: base64(HMAC-SHA256(key, id "." unix-seconds "." body)).
func svixSignature(t *testing.T, secret, id string, secs int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(secs, 10) + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// hasSignature says whether a space-separated svix-signature list holds
// "v1,<want>".
func hasSignature(list, want string) bool {
	for _, s := range strings.Split(list, " ") {
		if version, sig, ok := strings.Cut(s, ","); ok && version == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// FuzzClerkWebhook fuzzes the body and the Svix headers of a Clerk
// delivery: one header set (svix-* or webhook-*, chosen by webhookPrefix),
// and optionally the other set with the same id and timestamp and
// otherSig, as a mixed-set replay would send. Properties:
//   - verification accepts only a timestamp within the tolerance and a
//     header set whose signature list holds the HMAC computed here over
//     that same set's id and timestamp and the body;
//   - with that HMAC put in, a delivery within the tolerance is accepted;
//   - the handler answers JSON with 200, 400, 401, 413 or 503, never 500;
//     a 200 only for a verified delivery, and whatever it hands to
//     Temporal carries an entity id the workflow id rules accept.
func FuzzClerkWebhook(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sig string, webhookPrefix bool, otherSig string) {
		starter := &fakeStarter{}
		h, err := NewClerkHandler(testSecret, starter, Queues{Workflows: "q", Intercom: "q-intercom"}, time.Second, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		h.now = func() time.Time { return fuzzNow }
		prefix, other := "svix-", "webhook-"
		if webhookPrefix {
			prefix, other = other, prefix
		}
		hdr := http.Header{}
		hdr.Set(prefix+"id", id)
		hdr.Set(prefix+"timestamp", ts)
		hdr.Set(prefix+"signature", sig)
		if otherSig != "" {
			hdr.Set(other+"id", id)
			hdr.Set(other+"timestamp", ts)
			hdr.Set(other+"signature", otherSig)
		}

		set, verifyErr := h.verify(body, hdr)
		if verifyErr == nil {
			checkVerified(t, set, hdr, body)
		}
		if secs, err := strconv.ParseInt(ts, 10, 64); err == nil && id != "" {
			genuine := hdr.Clone()
			genuine.Set(prefix+"signature", "v1,"+svixSignature(t, testSecret, id, secs, body))
			genuine.Del(other + "id") // this set alone: the other's signature is not ours
			d := fuzzNow.Sub(time.Unix(secs, 0))
			within := d <= SignatureTolerance && d >= -SignatureTolerance
			if _, err := h.verify(body, genuine); (err == nil) != within {
				t.Fatalf("genuine signature, timestamp %s away: verify says %v", d, err)
			}
		}

		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/clerk", bytes.NewReader(body))
		req.Header = hdr
		h.ServeHTTP(rec, req)
		checkJSONAnswer(t, rec, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable)
		if rec.Code == http.StatusOK && verifyErr != nil {
			t.Fatalf("200 for a delivery verification refused: %v", verifyErr)
		}
		for _, c := range starter.calls {
			if msg := checkEntityID("entity id", c.Delivery.EntityID); msg != "" {
				t.Fatalf("handed to Temporal: %s", msg)
			}
			if c.Delivery.SvixID != set.id {
				t.Fatalf("handed svix id %q to Temporal, verified %q", c.Delivery.SvixID, set.id)
			}
		}
	})
}

// checkVerified asserts what an accepted delivery must be: a complete
// header set, dated within the tolerance, signed with testSecret.
func checkVerified(t *testing.T, set svixHeaders, hdr http.Header, body []byte) {
	t.Helper()
	if set.id != hdr.Get(set.prefix+"id") || set.timestamp != hdr.Get(set.prefix+"timestamp") ||
		set.signature != hdr.Get(set.prefix+"signature") {
		t.Fatalf("verified set %+v is not the request's %s headers", set, set.prefix)
	}
	secs, err := strconv.ParseInt(set.timestamp, 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q", set.timestamp)
	}
	if d := fuzzNow.Sub(time.Unix(secs, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		t.Fatalf("accepted a timestamp %s away", d)
	}
	if want := svixSignature(t, testSecret, set.id, secs, body); !hasSignature(set.signature, want) {
		t.Fatalf("accepted signature %q; the delivery's is v1,%s", set.signature, want)
	}
}

// checkJSONAnswer asserts the status is one of allowed and the body is a
// JSON object.
func checkJSONAnswer(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	ok := false
	for _, code := range allowed {
		ok = ok || rec.Code == code
	}
	if !ok {
		t.Fatalf("status %d (allowed %v): %s", rec.Code, allowed, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %q", err, rec.Body)
	}
	if rec.Code >= 400 {
		if msg, _ := v["error"].(string); msg == "" {
			t.Fatalf("error answer without an error message: %s", rec.Body)
		}
	}
}

// FuzzIntercomWebhook fuzzes the body of an Intercom notification, signed
// correctly (signed=true: the parser is what is fuzzed) or with the
// fuzzed header. Properties: JSON answers of 200, 400 or 401 only; a
// signature that is not the body's is 401; what reaches Temporal has a
// contact or conversation id the workflow id rules accept.
func FuzzIntercomWebhook(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, signed bool, header string) {
		starter := &fakeExecutor{}
		h, err := NewIntercomHandler(intercomSecret, starter, Queues{Workflows: "q", Intercom: "q-intercom"}, time.Second, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		genuine := intercom.Signature([]byte(intercomSecret), body)
		if signed {
			header = genuine
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/intercom", bytes.NewReader(body))
		req.Header.Set(intercom.SignatureHeader, header)
		h.ServeHTTP(rec, req)
		checkJSONAnswer(t, rec, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized)
		if rec.Code != http.StatusUnauthorized && !strings.EqualFold(strings.TrimSpace(header), genuine) {
			t.Fatalf("answered %d to signature %q; the body's is %q", rec.Code, header, genuine)
		}
		for _, c := range starter.calls {
			id := c.Input.ContactID
			if c.Tag.ConversationID != "" || c.Input.ContactID == "" {
				id = c.Tag.ConversationID
			}
			if msg := checkEntityID("id", id); msg != "" {
				t.Fatalf("handed to Temporal: %s", msg)
			}
			if c.Input.NotificationID == "" && c.Tag.NotificationID == "" {
				t.Fatal("handed to Temporal without a notification id")
			}
		}
	})
}

// fuzzMembers is a member directory in memory: one member, and an email
// whose lookup fails as a database that is down does.
type fuzzMembers struct{}

const fuzzDownEmail = "down@example.com"

func (fuzzMembers) FindByEmail(_ context.Context, email string) (members.Member, error) {
	switch strings.ToLower(email) {
	case "jane@example.com":
		return members.Member{Number: "100001", FirstName: "Jane", Email: "jane@example.com", Status: "Active"}, nil
	case fuzzDownEmail:
		return members.Member{}, errors.New("connection refused")
	}
	return members.Member{}, members.ErrNotFound
}

type fuzzPositions struct{}

func (fuzzPositions) ForMember(context.Context, string) ([]string, error) {
	return []string{"Facility President"}, nil
}

// FuzzLookup fuzzes the Authorization header and the body of a lookup.
// Properties: JSON answers of 200, 400, 401, 404, 413, 429 or 503 only,
// never 500; anything but 401 only with the configured bearer token;
// a 200 only for a body whose email is a bare address.
func FuzzLookup(f *testing.F) {
	f.Fuzz(func(t *testing.T, authorization string, body []byte) {
		h := NewLookupHandler(lookupToken, fuzzMembers{}, fuzzPositions{}, quietLogger())
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/intercom/lookup-email", bytes.NewReader(body))
		req.Header.Set("Authorization", authorization)
		h.ServeHTTP(rec, req)
		checkJSONAnswer(t, rec, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound,
			http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusServiceUnavailable)
		scheme, token, _ := strings.Cut(authorization, " ")
		authorized := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) == lookupToken
		if (rec.Code == http.StatusUnauthorized) == authorized {
			t.Fatalf("answered %d to Authorization %q", rec.Code, authorization)
		}
		if rec.Code == http.StatusOK {
			var req struct{ Email string }
			if err := json.Unmarshal(body, &req); err != nil || !isEmailAddress(strings.TrimSpace(req.Email)) {
				t.Fatalf("200 for body %q", body)
			}
		}
	})
}
