package config

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
)

func TestCheckPlaceholders(t *testing.T) {
	key, err := payloadcrypt.NewKey("k1", bytes.Repeat([]byte{1}, payloadcrypt.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ok := Config{EnvironmentName: "production", DatabaseURL: "postgres://app:s3cret@db/app",
		ClerkWebhookSecret: "whsec_cmVhbA==", IntercomWebhookSecret: "real", LookupAPIToken: "real-token",
		CodecAuthToken: "real-codec-token", PayloadKeys: []payloadcrypt.Key{key}}
	if err := ok.CheckPlaceholders(); err != nil {
		t.Fatalf("real secrets refused: %v", err)
	}
	for _, c := range []struct {
		setting string
		set     func(*Config)
	}{
		{"DATABASE_URL", func(c *Config) {
			c.DatabaseURL = "postgres://intercom_sync:CHANGE-ME@postgres.example.internal:5432/app"
		}},
		{"MEMBERS_MYSQL_DSN", func(c *Config) { c.MembersMySQLDSN = "members_ro:change-me@tcp(mysql:3306)/members" }},
		{"CLERK_WEBHOOK_SECRET", func(c *Config) { c.ClerkWebhookSecret = "whsec_CHANGE-ME" }},
		{"CLERK_WEBHOOK_SECRET", func(c *Config) { c.ClerkWebhookSecret = DevSecrets["CLERK_WEBHOOK_SECRET"] }},
		{"INTERCOM_WEBHOOK_SECRET", func(c *Config) { c.IntercomWebhookSecret = DevSecrets["INTERCOM_WEBHOOK_SECRET"] }},
		{"LOOKUP_API_TOKEN", func(c *Config) { c.LookupAPIToken = " " + DevSecrets["LOOKUP_API_TOKEN"] }},
		// A dev secret is refused in any setting, not only its own.
		{"LOOKUP_API_TOKEN", func(c *Config) { c.LookupAPIToken = DevSecrets["INTERCOM_WEBHOOK_SECRET"] }},
		{"INTERCOM_ACCESS_TOKEN", func(c *Config) { c.IntercomAccessToken = DevSecrets["INTERCOM_ACCESS_TOKEN"] }},
		{"CODEC_AUTH_TOKEN", func(c *Config) { c.CodecAuthToken = "codec-change-me-later" }},
		{"CODEC_AUTH_TOKEN", func(c *Config) { c.CodecAuthToken = DevSecrets["LOOKUP_API_TOKEN"] }},
	} {
		cfg := ok
		c.set(&cfg)
		err := cfg.CheckPlaceholders()
		if err == nil || !strings.Contains(err.Error(), c.setting) {
			t.Errorf("production with a placeholder %s: %v", c.setting, err)
			continue
		}
		for _, s := range cfg.secrets() {
			if s[1] != "" && strings.Contains(err.Error(), strings.TrimSpace(s[1])) {
				t.Errorf("the error shows the value of %s: %v", s[0], err)
			}
		}
		for _, env := range []string{"development", "staging", ""} {
			cfg.EnvironmentName = env
			if err := cfg.CheckPlaceholders(); err != nil {
				t.Errorf("ENVIRONMENT_NAME=%q refused %s: %v", env, c.setting, err)
			}
		}
	}
}

// `make run` needs no setup: deploy/local/run.sh sets the three API
// secrets to the DevSecrets (which production refuses), and the README
// shows how to use them.
func TestLocalRunSetsTheDevSecrets(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/local/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CLERK_WEBHOOK_SECRET", "INTERCOM_WEBHOOK_SECRET", "LOOKUP_API_TOKEN"} {
		re := regexp.MustCompile(`(?m)^export ` + name + `=\$\{` + name + `:-([^}]+)\}$`)
		m := re.FindSubmatch(raw)
		if m == nil {
			t.Errorf("deploy/local/run.sh does not default %s", name)
			continue
		}
		if string(m[1]) != DevSecrets[name] {
			t.Errorf("deploy/local/run.sh defaults %s to %q, config.DevSecrets has %q", name, m[1], DevSecrets[name])
		}
		if !strings.Contains(string(readme), DevSecrets[name]) {
			t.Errorf("README does not show the dev %s", name)
		}
	}
	for _, want := range []string{"X-Hub-Signature: sha1=", "openssl dgst -sha1 -hmac", "Authorization: Bearer dev-lookup-token"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README does not show %q", want)
		}
	}
}
