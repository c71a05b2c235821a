package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	logtest "github.com/sirupsen/logrus/hooks/test"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
)

const codecToken = "codec-token-for-tests"

func testCodec(t *testing.T, id string, fill byte) *payloadcrypt.Codec {
	t.Helper()
	k, err := payloadcrypt.NewKey(id, bytes.Repeat([]byte{fill}, payloadcrypt.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c, err := payloadcrypt.New([]payloadcrypt.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// codecRouter is the API's router with only the codec server mounted.
func codecRouter(t *testing.T, token string, c *payloadcrypt.Codec) (http.Handler, *logtest.Hook) {
	log, hook := logtest.NewNullLogger()
	h := NewCodecHandler(token, c, []string{"http://localhost:8233"}, log)
	return Routes{Codec: h, Log: log}.Router(), hook
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func codecCall(h http.Handler, path, auth, origin, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("answer %d %s, want 200", rec.Code, rec.Body)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer is not a payload list: %v: %s", err, rec.Body)
	}
	return out.Payloads
}

// /codec/encode then /codec/decode give back the payload, as the CLI and
// the UI call them; twice, the same answer.
func TestCodecServerEncodesAndDecodes(t *testing.T) {
	h, hook := codecRouter(t, codecToken, testCodec(t, "k1", 1))
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		enc := decodeAnswer(t, codecCall(h, "/codec/encode", "Bearer "+codecToken, "", payloadsJSON(t, plain)))
		if len(enc) != 1 || string(enc[0].Metadata["encoding"]) != payloadcrypt.EncodingEncrypted ||
			bytes.Contains(enc[0].Data, []byte("ada@example.com")) {
			t.Fatalf("encode gave %v", enc)
		}
		dec := decodeAnswer(t, codecCall(h, "/codec/decode", "Bearer "+codecToken, "", payloadsJSON(t, enc...)))
		var got map[string]string
		if len(dec) != 1 || converter.GetDefaultDataConverter().FromPayload(dec[0], &got) != nil || got["email"] != "ada@example.com" {
			t.Fatalf("decode gave %v", dec)
		}
	}
	for _, e := range hook.AllEntries() {
		if s, _ := e.String(); strings.Contains(s, "ada@example.com") {
			t.Errorf("the log shows the payload: %s", s)
		}
	}
}

func TestCodecServerRefusals(t *testing.T) {
	c := testCodec(t, "k1", 1)
	h, _ := codecRouter(t, codecToken, c)
	other := testCodec(t, "retired", 2)
	foreign, err := other.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, auth, body string
		status                 int
		errContains            string
	}{
		{"no token", "/codec/decode", "", `{"payloads":[]}`, 401, "bearer token"},
		{"wrong token", "/codec/decode", "Bearer nope", `{"payloads":[]}`, 401, "bearer token"},
		{"not bearer", "/codec/encode", "Basic " + codecToken, `{"payloads":[]}`, 401, "bearer token"},
		{"not JSON", "/codec/decode", "Bearer " + codecToken, `{`, 400, ""},
		{"unknown key id", "/codec/decode", "Bearer " + codecToken, payloadsJSON(t, foreign...), 400, `"retired"`},
		{"too big", "/codec/decode", "Bearer " + codecToken, `{"payloads":[` + strings.Repeat(" ", MaxCodecBodyBytes) + `]}`, 413, "4 MiB"},
	} {
		rec := codecCall(h, tc.path, tc.auth, "", tc.body)
		var e struct {
			Error string `json:"error"`
		}
		if rec.Code != tc.status || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" ||
			!strings.Contains(e.Error, tc.errContains) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q %s, want %d and a JSON error containing %q", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.status, tc.errContains)
		}
	}
	// GET is no codec call.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/codec/decode", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /codec/decode = %d, want 405", rec.Code)
	}
}

// Without CODEC_AUTH_TOKEN the codec server fails closed, whatever the
// request says.
func TestCodecServerWithoutTokenAnswers503(t *testing.T) {
	h, hook := codecRouter(t, "", testCodec(t, "k1", 1))
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		rec := codecCall(h, "/codec/decode", auth, "", `{"payloads":[]}`)
		if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"error":"codec not configured"}` {
			t.Errorf("auth %q: %d %s, want 503 codec not configured", auth, rec.Code, rec.Body)
		}
	}
	if len(hook.AllEntries()) == 0 || !strings.Contains(hook.LastEntry().Message, "CODEC_AUTH_TOKEN") {
		t.Error("no log line names CODEC_AUTH_TOKEN")
	}
}

// The Temporal UI calls from the browser: the preflight of an allowed
// origin is answered without a token; other origins get no CORS grant.
func TestCodecServerCORS(t *testing.T) {
	h, _ := codecRouter(t, codecToken, testCodec(t, "k1", 1))
	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/codec/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := preflight("http://localhost:8233")
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:8233" {
		t.Fatalf("preflight of the UI = %d %v, want 204 allowing its origin", rec.Code, rec.Header())
	}
	allowed := strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers"))
	for _, want := range []string{"authorization", "content-type", "x-namespace"} {
		if !strings.Contains(allowed, want) {
			t.Errorf("preflight allows headers %q, missing %s", allowed, want)
		}
	}
	if !strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight allows methods %q, want POST", rec.Header().Get("Access-Control-Allow-Methods"))
	}
	if rec := preflight("https://evil.example.com"); rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of another origin = %d %v, want 403 without a CORS grant", rec.Code, rec.Header())
	}
	// The answers themselves, errors included, carry the grant for the UI.
	if rec := codecCall(h, "/codec/decode", "", "http://localhost:8233", `{"payloads":[]}`); rec.Code != 401 ||
		rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:8233" {
		t.Errorf("unauthenticated call from the UI = %d %v, want 401 with the CORS grant", rec.Code, rec.Header())
	}
	if rec := codecCall(h, "/codec/decode", "Bearer "+codecToken, "https://evil.example.com", `{"payloads":[]}`); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a call from another origin got a CORS grant: %v", rec.Header())
	}
}
