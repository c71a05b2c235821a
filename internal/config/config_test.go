package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestDefaults(t *testing.T) {
	for _, k := range Keys {
		t.Setenv(k.Env, "")
		os.Unsetenv(k.Env)
	}
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.TaskQueue != "intercom-sync" || c.IntercomTaskQueue != "intercom-sync-intercom" ||
		c.IntercomAPIBaseURL != "https://api.intercom.io" || c.TemporalNamespace != "default" ||
		c.IntercomRateLimitPerMinute != 1000 || c.LogFormat != "json" {
		t.Fatalf("defaults = %+v", c)
	}
	if err := c.Require("DATABASE_URL", "CLERK_WEBHOOK_SECRET"); err == nil ||
		!strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "CLERK_WEBHOOK_SECRET") {
		t.Fatalf("Require = %v, want both names", err)
	}
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("http_addr: ':1'\ntemporal_task_queue: from-file\nenvironment_name: file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_TASK_QUEUE", "from-env")
	t.Setenv("ENVIRONMENT_NAME", "")
	os.Unsetenv("ENVIRONMENT_NAME")
	t.Setenv("HTTP_ADDR", ":2")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--config", file, "--http-addr", ":3"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":3" || c.TaskQueue != "from-env" || c.EnvironmentName != "file" || c.IntercomTaskQueue != "from-env-intercom" {
		t.Fatalf("config = %+v", c)
	}
}

func TestBadValuesAreRejected(t *testing.T) {
	t.Setenv("INTERCOM_RATE_LIMIT_PER_MINUTE", "0")
	if _, err := Load(nil); err == nil {
		t.Fatal("a zero rate limit was accepted")
	}
	t.Setenv("INTERCOM_RATE_LIMIT_PER_MINUTE", "")
	// Zero or unparsable would mean "no limit" to net/http.
	for name, value := range map[string]string{
		"HTTP_READ_TIMEOUT": "0", "HTTP_WRITE_TIMEOUT": "soon", "HTTP_IDLE_TIMEOUT": "-1s",
		"HTTP_READ_HEADER_TIMEOUT": "0s", "HTTP_MAX_HEADER_BYTES": "0", "HTTP_MAX_IN_FLIGHT": "many",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v", name, value, err)
			}
		})
	}
}

// The HTTP server's limits default to the README's values, and the read
// timeout that cuts off a trickling body is at most 30 s.
func TestHTTPLimitDefaults(t *testing.T) {
	unsetAll(t)
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPReadHeaderTimeout != 10*time.Second || c.HTTPReadTimeout != 30*time.Second || c.HTTPWriteTimeout != 30*time.Second ||
		c.HTTPIdleTimeout != 120*time.Second || c.HTTPMaxHeaderBytes != 65536 || c.HTTPMaxInFlight != 256 {
		t.Fatalf("HTTP limits %+v", c)
	}
	t.Setenv("HTTP_READ_TIMEOUT", "2s")
	t.Setenv("HTTP_MAX_IN_FLIGHT", "8")
	if c, err = Load(nil); err != nil || c.HTTPReadTimeout != 2*time.Second || c.HTTPMaxInFlight != 8 {
		t.Fatalf("%v %+v", err, c)
	}
}

// The README's configuration table lists every setting the binary reads.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if !strings.Contains(string(readme), "`"+k.Env+"`") {
			t.Errorf("README does not document %s", k.Env)
		}
	}
}

// The lookup's rate limit and the internal listener: defaults, and the
// values refused at start.
func TestLookupRateLimitAndInternalListener(t *testing.T) {
	unsetAll(t)
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LookupRateLimitPerMinute != 120 || c.LookupRateLimitBurst != 20 || c.InternalHTTPAddr != "" {
		t.Fatalf("defaults: %d/min burst %d, internal %q", c.LookupRateLimitPerMinute, c.LookupRateLimitBurst, c.InternalHTTPAddr)
	}
	t.Setenv("INTERNAL_HTTP_ADDR", ":8081")
	t.Setenv("LOOKUP_RATE_LIMIT_PER_MINUTE", "30")
	t.Setenv("LOOKUP_RATE_LIMIT_BURST", "5")
	if c, err = Load(nil); err != nil || c.InternalHTTPAddr != ":8081" || c.LookupRateLimitPerMinute != 30 || c.LookupRateLimitBurst != 5 {
		t.Fatalf("%v %+v", err, c)
	}
	for name, value := range map[string]string{
		"LOOKUP_RATE_LIMIT_PER_MINUTE": "0", "LOOKUP_RATE_LIMIT_BURST": "-1", "INTERNAL_HTTP_ADDR": ":8080",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v", name, value, err)
			}
		})
	}
}
