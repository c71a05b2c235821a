package app_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/spf13/pflag"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// productionConfig loads the configuration the way the binary does (from
// the environment, through config.Load), pointed at the test stack, with
// every setting the service can use set.
func productionConfig(t *testing.T) config.Config {
	t.Helper()
	_, dbURL := testenv.Store(t)
	membersDSN, _ := testenv.Members(t)
	em := httptest.NewServer(emulator.New(emulator.Options{Token: "tok"}))
	t.Cleanup(em.Close)
	for name, value := range map[string]string{
		"DATABASE_URL":            dbURL,
		"MEMBERS_MYSQL_DSN":       membersDSN,
		"TEMPORAL_ADDRESS":        testenv.TemporalAddress(t),
		"TEMPORAL_NAMESPACE":      testenv.TemporalNamespace(),
		"TEMPORAL_TASK_QUEUE":     testenv.Name("wiring-"),
		"INTERCOM_ACCESS_TOKEN":   "tok",
		"INTERCOM_API_BASE_URL":   em.URL,
		"INTERCOM_ADMIN_ID":       "1",
		"ENVIRONMENT_NAME":        "production",
		"CLERK_WEBHOOK_SECRET":    "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXdpcmluZw==",
		"INTERCOM_WEBHOOK_SECRET": "intercom-secret",
		"LOOKUP_API_TOKEN":        "lookup-token",
		"PAYLOAD_ENCRYPTION_KEYS": "k1:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		"CODEC_AUTH_TOKEN":        "codec-token",
	} {
		t.Setenv(name, value)
	}
	fs := pflag.NewFlagSet("wiring", pflag.ContinueOnError)
	config.RegisterFlags(fs)
	cfg, err := config.Load(fs)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

// TestProductionWiringHasEveryDependency builds the service as the binary
// does and fails if the activities lack any dependency, if a route is
// missing, or if the workers cannot register and start. A dependency that
// app.New stops passing (say, the activities' Temporal client) fails here,
// not in production.
func TestProductionWiringHasEveryDependency(t *testing.T) {
	cfg := productionConfig(t)
	ctx := context.Background()
	a, err := app.New(ctx, cfg, testenv.Logger(t), app.Parts{API: true, Workers: true}, app.Options{})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	defer a.Close()

	deps := reflect.ValueOf(a.Activities.Deps)
	for i := range deps.NumField() {
		if deps.Field(i).IsZero() {
			t.Errorf("activities dependency %s is not wired", deps.Type().Field(i).Name)
		}
	}
	if a.Activities.Environment != "production" || a.Activities.AdminID != "1" {
		t.Errorf("activities environment/admin = %q/%q, want the configured production/1",
			a.Activities.Environment, a.Activities.AdminID)
	}

	h, err := a.Handler()
	if err != nil {
		t.Fatalf("Handler: %v", err)
	}
	for _, route := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/webhooks/clerk", http.StatusUnauthorized},       // unsigned
		{"POST", "/api/intercom/webhook", http.StatusUnauthorized}, // unsigned, secret set
		{"POST", "/api/intercom/lookup-email", http.StatusUnauthorized},
		{"GET", "/healthz", http.StatusOK},
		{"GET", "/readyz", http.StatusOK},           // Temporal answers
		{"GET", "/readyz?verbose=1", http.StatusOK}, // and reports Postgres, MariaDB, positions
		{"GET", "/metrics", http.StatusOK},
		{"POST", "/codec/decode", http.StatusUnauthorized}, // keys and token set: the codec server is mounted
		{"POST", "/codec/encode", http.StatusUnauthorized},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(route.method, route.path, strings.NewReader(`{}`)))
		if rec.Code != route.want {
			t.Errorf("%s %s = %d, want %d: %s", route.method, route.path, rec.Code, route.want, rec.Body)
		}
	}

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	workers, err := a.StartWorkers(startCtx)
	if err != nil || workers == nil {
		t.Fatalf("StartWorkers: %v (workers %v)", err, workers)
	}
	workers.Stop()
}

// TestNewNamesTheMissingSetting: a process that lacks a setting its parts
// need refuses to start and says which one.
func TestNewNamesTheMissingSetting(t *testing.T) {
	cfg := productionConfig(t)
	for _, c := range []struct {
		parts   app.Parts
		unset   func(*config.Config)
		missing string
	}{
		{app.Parts{API: true}, func(c *config.Config) { c.ClerkWebhookSecret = "" }, "CLERK_WEBHOOK_SECRET"},
		{app.Parts{Workers: true}, func(c *config.Config) { c.IntercomAccessToken = "" }, "INTERCOM_ACCESS_TOKEN"},
		{app.Parts{Workers: true}, func(c *config.Config) { c.MembersMySQLDSN = "" }, "MEMBERS_MYSQL_DSN"},
		{app.Parts{API: true}, func(c *config.Config) { c.DatabaseURL = "" }, "DATABASE_URL"},
	} {
		broken := cfg
		c.unset(&broken)
		a, err := app.New(context.Background(), broken, testenv.Logger(t), c.parts, app.Options{})
		if err == nil {
			a.Close()
			t.Errorf("%+v without %s: app.New succeeded", c.parts, c.missing)
			continue
		}
		if !strings.Contains(err.Error(), c.missing) {
			t.Errorf("%+v without %s: error %q does not name it", c.parts, c.missing, err)
		}
	}
}

// No endpoint is open because a secret is missing or because of
// ENVIRONMENT_NAME: in development, without INTERCOM_WEBHOOK_SECRET and
// LOOKUP_API_TOKEN, the API starts, warns, and answers those endpoints 503
// naming the setting; with them set, an unsigned request is 401.
func TestEndpointsFailClosedInEveryEnvironment(t *testing.T) {
	base := productionConfig(t)
	body := `{"type":"notification_event","id":"notif_1","topic":"conversation.user.created","data":{"item":{"type":"conversation","id":"1","contacts":{"contacts":[{"id":"c1"}]}}}}`
	for _, env := range []string{config.DevelopmentEnvironment, "staging", "production"} {
		t.Run(env, func(t *testing.T) {
			cfg := base
			cfg.EnvironmentName = env
			cfg.IntercomWebhookSecret, cfg.LookupAPIToken = "", ""
			log, hook := logtest.NewNullLogger()
			a, err := app.New(context.Background(), cfg, log, app.Parts{API: true}, app.Options{})
			if err != nil {
				t.Fatalf("app.New without the optional secrets: %v", err)
			}
			defer a.Close()
			h, err := a.Handler()
			if err != nil {
				t.Fatal(err)
			}
			warned := map[string]bool{}
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.WarnLevel {
					for _, name := range []string{"INTERCOM_WEBHOOK_SECRET", "LOOKUP_API_TOKEN"} {
						if strings.Contains(e.Message, name) {
							warned[name] = true
						}
					}
				}
			}
			for _, c := range []struct{ path, setting string }{
				{"/api/intercom/webhook", "INTERCOM_WEBHOOK_SECRET"},
				{"/api/intercom/lookup-email", "LOOKUP_API_TOKEN"},
			} {
				if !warned[c.setting] {
					t.Errorf("no warning at start about %s", c.setting)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", c.path, strings.NewReader(body)))
				want := `{"error":"` + c.setting + ` not configured"}`
				if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != want {
					t.Errorf("%s without %s = %d %s, want 503 %s", c.path, c.setting, rec.Code, rec.Body, want)
				}
			}

			cfg.IntercomWebhookSecret, cfg.LookupAPIToken = "intercom-secret", "lookup-token"
			b, err := app.New(context.Background(), cfg, logrus.New(), app.Parts{API: true}, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if h, err = b.Handler(); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/webhooks/clerk", "/api/intercom/webhook", "/api/intercom/lookup-email"} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("unsigned POST %s = %d %s, want 401", path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// ENVIRONMENT_NAME=production refuses placeholder and development secrets
// at start, naming the setting but never the value; elsewhere they run.
func TestProductionRefusesPlaceholderSecrets(t *testing.T) {
	base := productionConfig(t)
	for _, c := range []struct {
		setting string
		set     func(*config.Config)
	}{
		{"INTERCOM_WEBHOOK_SECRET", func(c *config.Config) { c.IntercomWebhookSecret = "CHANGE-ME" }},
		{"CLERK_WEBHOOK_SECRET", func(c *config.Config) { c.ClerkWebhookSecret = config.DevSecrets["CLERK_WEBHOOK_SECRET"] }},
		{"LOOKUP_API_TOKEN", func(c *config.Config) { c.LookupAPIToken = config.DevSecrets["LOOKUP_API_TOKEN"] }},
		{"INTERCOM_WEBHOOK_SECRET", func(c *config.Config) { c.IntercomWebhookSecret = config.DevSecrets["INTERCOM_WEBHOOK_SECRET"] }},
		{"INTERCOM_ACCESS_TOKEN", func(c *config.Config) { c.IntercomAccessToken = "change-me" }},
	} {
		cfg := base
		c.set(&cfg)
		for _, env := range []string{"production", "Production"} {
			cfg.EnvironmentName = env
			a, err := app.New(context.Background(), cfg, logrus.New(), app.Parts{API: true, Workers: true}, app.Options{})
			if err == nil {
				a.Close()
				t.Errorf("%s=%s: a placeholder %s was accepted", "ENVIRONMENT_NAME", env, c.setting)
				continue
			}
			if !strings.Contains(err.Error(), c.setting) {
				t.Errorf("error %q does not name %s", err, c.setting)
			}
		}
		cfg.EnvironmentName = config.DevelopmentEnvironment
		a, err := app.New(context.Background(), cfg, logrus.New(), app.Parts{API: true, Workers: true}, app.Options{})
		if err != nil {
			t.Errorf("development with a dev %s: %v", c.setting, err)
			continue
		}
		a.Close()
	}
}

// The codec server exists only where payloads are encrypted, and fails
// closed without its token; production refuses to start without keys.
func TestCodecServerIsMountedWithTheKeys(t *testing.T) {
	base := productionConfig(t)
	serve := func(t *testing.T, cfg config.Config, log *logrus.Logger) *httptest.ResponseRecorder {
		t.Helper()
		a, err := app.New(context.Background(), cfg, log, app.Parts{API: true}, app.Options{})
		if err != nil {
			t.Fatalf("app.New: %v", err)
		}
		defer a.Close()
		h, err := a.Handler()
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/codec/decode", strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Authorization", "Bearer codec-token")
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := serve(t, base, logrus.New()); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("POST /codec/decode with the token = %d %s, want 200 JSON", rec.Code, rec.Body)
	}

	noToken := base
	noToken.CodecAuthToken = ""
	log, hook := logtest.NewNullLogger()
	rec := serve(t, noToken, log)
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"error":"codec not configured"}` {
		t.Errorf("without CODEC_AUTH_TOKEN: %d %s, want 503 codec not configured", rec.Code, rec.Body)
	}
	warned := false
	for _, e := range hook.AllEntries() {
		warned = warned || (e.Level == logrus.WarnLevel && strings.Contains(e.Message, "CODEC_AUTH_TOKEN"))
	}
	if !warned {
		t.Error("no warning at start about CODEC_AUTH_TOKEN")
	}

	noKeys := base
	noKeys.PayloadKeys = nil
	a, err := app.New(context.Background(), noKeys, logrus.New(), app.Parts{API: true}, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "PAYLOAD_ENCRYPTION_KEYS") {
		if a != nil {
			a.Close()
		}
		t.Fatalf("production without PAYLOAD_ENCRYPTION_KEYS: %v, want a refusal naming it", err)
	}
	noKeys.EnvironmentName = "staging"
	if rec := serve(t, noKeys, logrus.New()); rec.Code != http.StatusNotFound {
		t.Errorf("without keys POST /codec/decode = %d %s, want 404 (no codec server)", rec.Code, rec.Body)
	}
}

// Every Temporal client of the binary (service, backfill, migrate) gets
// the encrypting data converter from one recipe.
func TestTemporalClientOptionsEncrypt(t *testing.T) {
	cfg := productionConfig(t)
	opts, err := app.TemporalClientOptions(cfg, logrus.New())
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != cfg.TemporalAddress || opts.Namespace != cfg.TemporalNamespace || opts.DataConverter == nil {
		t.Fatalf("options %+v: want the configured address, namespace and a data converter", opts)
	}
	p, err := opts.DataConverter.ToPayload(map[string]string{"email": "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encoding"]) != "binary/encrypted" || strings.Contains(string(p.Data), "ada@example.com") {
		t.Fatalf("payload not encrypted: %v", p)
	}
	cfg.PayloadKeys = nil
	if opts, err = app.TemporalClientOptions(cfg, logrus.New()); err != nil || opts.DataConverter != nil {
		t.Fatalf("without keys: %v, %v; want the SDK's default converter", opts.DataConverter, err)
	}
}
