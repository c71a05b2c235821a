package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// resolveTemporalTLS sets TemporalTLS from TEMPORAL_TLS (raw) and the
// other TLS settings, and refuses the combinations that cannot be meant.
func (c *Config) resolveTemporalTLS(raw string) error {
	raw = strings.TrimSpace(raw)
	implied := c.TemporalTLSSettings()
	switch {
	case raw == "":
		c.TemporalTLS = len(implied) > 0
	default:
		on, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("TEMPORAL_TLS must be true or false, got %q", raw)
		}
		// Explicitly off with a certificate or an API key set is a
		// contradiction; never fall back to plaintext (an API key would
		// travel in clear).
		if !on && len(implied) > 0 {
			return fmt.Errorf("TEMPORAL_TLS=false, but %s set: unset them or TEMPORAL_TLS", strings.Join(implied, ", "))
		}
		c.TemporalTLS = on
	}
	return c.CheckTemporalTLSPair()
}

// TemporalTLSSettings names the TLS settings that are set (each one turns
// TLS on by itself).
func (c Config) TemporalTLSSettings() []string {
	var set []string
	for _, s := range [][2]string{
		{"TEMPORAL_TLS_CERT", c.TemporalTLSCert}, {"TEMPORAL_TLS_KEY", c.TemporalTLSKey},
		{"TEMPORAL_TLS_CA", c.TemporalTLSCA}, {"TEMPORAL_TLS_SERVER_NAME", c.TemporalTLSServerName},
		{"TEMPORAL_API_KEY", c.TemporalAPIKey},
	} {
		if s[1] != "" {
			set = append(set, s[0])
		}
	}
	return set
}

// CheckTemporalTLSPair refuses a client certificate without its key and
// a key without its certificate.
func (c Config) CheckTemporalTLSPair() error {
	switch {
	case c.TemporalTLSCert != "" && c.TemporalTLSKey == "":
		return errors.New("TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: set both for mTLS, or neither")
	case c.TemporalTLSKey != "" && c.TemporalTLSCert == "":
		return errors.New("TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT: set both for mTLS, or neither")
	}
	return nil
}
