package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
