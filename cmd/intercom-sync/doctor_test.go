package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// doctorArgs points doctor at srv with every secret set; the environment
// is cleared of settings that would change the outcome.
func doctorArgs(t *testing.T, url, token string, extra ...string) []string {
	for _, env := range []string{"INTERCOM_ADMIN_ID", "INTERCOM_RATE_LIMIT_PER_MINUTE", "ENVIRONMENT_NAME",
		"CLERK_WEBHOOK_SECRET", "INTERCOM_WEBHOOK_SECRET", "LOOKUP_API_TOKEN", "INTERCOM_ACCESS_TOKEN"} {
		t.Setenv(env, "")
	}
	return append([]string{"--intercom-api-base-url", url, "--intercom-access-token", token,
		"--environment-name", "doctor-test", "--clerk-webhook-secret", "whsec_ZG9jdG9yLWNtZC10ZXN0",
		"--intercom-webhook-secret", "hub", "--lookup-api-token", "lookup"}, extra...)
}

func TestDoctorCommand(t *testing.T) {
	em := emulator.New(emulator.Options{Token: "right", RateLimitPerMinute: 1000})
	srv := httptest.NewServer(em)
	defer srv.Close()

	ok := func(t *testing.T, err error, out string) {
		t.Helper()
		if err != nil {
			t.Fatalf("doctor: %v\n%s", err, out)
		}
	}
	t.Run("table", func(t *testing.T) {
		var out bytes.Buffer
		ok(t, runDoctor(t.Context(), doctorArgs(t, srv.URL, "right"), &out), out.String())
		for _, s := range []string{"| assumption", "| observed", "| what the service does about it",
			"ok   | INTERCOM_ACCESS_TOKEN works", "Read-only run"} {
			if !strings.Contains(out.String(), s) {
				t.Errorf("output lacks %q:\n%s", s, out.String())
			}
		}
	})
	t.Run("json, --write", func(t *testing.T) {
		var out bytes.Buffer
		err := runDoctor(t.Context(), doctorArgs(t, srv.URL, "right", "--json", "--write", "--search-timeout", "5s"), &out)
		ok(t, err, out.String())
		var rep struct {
			OK     bool `json:"ok"`
			Write  bool `json:"write"`
			Checks []struct {
				ID, Status string
			} `json:"checks"`
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out.String())
		}
		ids := map[string]string{}
		for _, c := range rep.Checks {
			ids[c.ID] = c.Status
		}
		if !rep.OK || !rep.Write || ids["cleanup"] != "ok" || ids["lead.external_id"] != "ok" {
			t.Errorf("report = %+v", rep)
		}
		if n := len(em.Snapshot().Contacts); n != 0 {
			t.Errorf("%d contacts left", n)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		var out bytes.Buffer
		err := runDoctor(t.Context(), doctorArgs(t, srv.URL, "bad-token-xyz"), &out)
		if err == nil || !strings.Contains(err.Error(), "INTERCOM_ACCESS_TOKEN") {
			t.Fatalf("err = %v, want it to name INTERCOM_ACCESS_TOKEN", err)
		}
		if !strings.Contains(out.String(), "FAIL | INTERCOM_ACCESS_TOKEN works") || strings.Contains(out.String(), "bad-token-xyz") {
			t.Errorf("output:\n%s", out.String())
		}
	})
	t.Run("unknown admin", func(t *testing.T) {
		var out bytes.Buffer
		err := runDoctor(t.Context(), doctorArgs(t, srv.URL, "right", "--intercom-admin-id", "424242"), &out)
		if err == nil || !strings.Contains(err.Error(), "INTERCOM_ADMIN_ID") {
			t.Fatalf("err = %v, want it to name INTERCOM_ADMIN_ID", err)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		if err := runDoctor(t.Context(), []string{"--search-timeout", "0s"}, &bytes.Buffer{}); err == nil {
			t.Error("--search-timeout 0s accepted")
		}
	})
}
