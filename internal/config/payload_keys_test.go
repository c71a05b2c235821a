package config

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
)

func b64Key(fill byte, n int) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n))
}

// PAYLOAD_ENCRYPTION_KEYS is parsed at load: a malformed list stops the
// start with an error that names the variable and never shows a key.
func TestPayloadEncryptionKeys(t *testing.T) {
	t.Setenv("PAYLOAD_ENCRYPTION_KEYS", "k2:"+b64Key(2, 32)+",k1:"+b64Key(1, 32))
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PayloadKeys) != 2 || c.PayloadKeys[0].ID != "k2" || c.PayloadKeys[1].ID != "k1" {
		t.Fatalf("PayloadKeys = %v, want k2 then k1", c.PayloadKeys)
	}

	secret := b64Key(9, 32)
	for name, value := range map[string]string{
		"bad base64":   "k:" + strings.Repeat("!", 44),
		"not 32 bytes": "k:" + b64Key(9, 31),
		"duplicate id": "k:" + secret + ",k:" + b64Key(1, 32),
		"empty id":     ":" + secret,
		"no id":        secret,
	} {
		t.Setenv("PAYLOAD_ENCRYPTION_KEYS", value)
		_, err := Load(nil)
		if err == nil || !strings.HasPrefix(err.Error(), "PAYLOAD_ENCRYPTION_KEYS: ") {
			t.Errorf("%s: Load = %v, want an error naming PAYLOAD_ENCRYPTION_KEYS", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), strings.Repeat("!", 44)) {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
}

// The codec server's settings: no token by default (fail closed), the
// local Temporal UI as the default CORS origins.
func TestCodecSettings(t *testing.T) {
	c := Defaults()
	if c.CodecAuthToken != "" || !slices.Equal(c.CodecCORSOrigins, []string{"http://127.0.0.1:8233", "http://localhost:8233"}) {
		t.Fatalf("codec defaults: token %q, origins %v", c.CodecAuthToken, c.CodecCORSOrigins)
	}
	t.Setenv("CODEC_CORS_ORIGINS", " https://temporal.example.com , ,https://ui.example.com")
	t.Setenv("CODEC_AUTH_TOKEN", "tok")
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CodecAuthToken != "tok" || !slices.Equal(c.CodecCORSOrigins, []string{"https://temporal.example.com", "https://ui.example.com"}) {
		t.Fatalf("codec settings: token %q, origins %v", c.CodecAuthToken, c.CodecCORSOrigins)
	}
}

// Production refuses to start without payload keys: members' emails would
// be stored readable in Temporal. Elsewhere encryption stays optional.
func TestProductionRequiresPayloadKeys(t *testing.T) {
	k, err := payloadcrypt.NewKey("k1", bytes.Repeat([]byte{1}, payloadcrypt.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{EnvironmentName: "production", DatabaseURL: "postgres://app:s3cret@db/app"}
	for _, env := range []string{"production", " Production "} {
		cfg.EnvironmentName = env
		if err := cfg.CheckPlaceholders(); err == nil || !strings.Contains(err.Error(), "PAYLOAD_ENCRYPTION_KEYS") {
			t.Errorf("ENVIRONMENT_NAME=%q without keys: %v, want a refusal naming PAYLOAD_ENCRYPTION_KEYS", env, err)
		}
	}
	cfg.PayloadKeys = []payloadcrypt.Key{k}
	if err := cfg.CheckPlaceholders(); err != nil {
		t.Errorf("production with keys: %v", err)
	}
	for _, env := range []string{"development", "staging", ""} {
		if err := (Config{EnvironmentName: env}).CheckPlaceholders(); err != nil {
			t.Errorf("ENVIRONMENT_NAME=%q without keys refused: %v", env, err)
		}
	}
}
