// Package temporalclient is the one recipe that turns the configuration
// into the options of a Temporal client: address, namespace, TLS (with
// or without a client certificate) and the Temporal Cloud API key. Every
// process that dials Temporal (serve, worker, run, migrate, backfill)
// starts from Options, so they all connect the same way.
package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/config"
)

// Options returns the client options of cfg. The caller adds its logger,
// metrics handler and the like. Certificates and keys are read here, so
// a bad file fails the start with an error naming the setting (never
// showing a key).
func Options(cfg config.Config) (client.Options, error) {
	opts := client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace}
	tlsConfig, err := TLSConfig(cfg)
	if err != nil {
		return client.Options{}, err
	}
	opts.ConnectionOptions.TLS = tlsConfig
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	return opts, nil
}

// On reports whether cfg asks for TLS to Temporal. A hand-built Config
// (tests) that sets a certificate or an API key gets TLS even if it left
// TemporalTLS false: credentials never go out in plaintext.
func On(cfg config.Config) bool {
	return cfg.TemporalTLS || len(cfg.TemporalTLSSettings()) > 0
}

// TLSConfig is the TLS configuration of the connection to Temporal, nil
// for plaintext. TLS 1.2 at least; the server is verified against
// TEMPORAL_TLS_CA (default: the system's roots) under
// TEMPORAL_TLS_SERVER_NAME (default: gRPC uses the host of
// TEMPORAL_ADDRESS).
func TLSConfig(cfg config.Config) (*tls.Config, error) {
	if !On(cfg) {
		return nil, nil
	}
	if err := cfg.CheckTemporalTLSPair(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServerName}
	if cfg.TemporalTLSCA != "" {
		pool, err := loadCA(cfg.TemporalTLSCA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if cfg.TemporalTLSCert != "" {
		pair, err := loadPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// Summary describes the connection for logs and the doctor: what is on,
// where certificates come from, never a key or a certificate's content.
func Summary(cfg config.Config) string {
	if !On(cfg) {
		return "plaintext (no TLS)"
	}
	parts := []string{"TLS 1.2+"}
	if cfg.TemporalTLSCert != "" {
		parts = append(parts, "client certificate from "+source(cfg.TemporalTLSCert))
	}
	if cfg.TemporalTLSCA != "" {
		parts = append(parts, "server verified against the CA from "+source(cfg.TemporalTLSCA))
	} else {
		parts = append(parts, "server verified against the system's roots")
	}
	if cfg.TemporalTLSServerName != "" {
		parts = append(parts, "server name "+cfg.TemporalTLSServerName)
	}
	if cfg.TemporalAPIKey != "" {
		parts = append(parts, "API key set")
	}
	return strings.Join(parts, ", ")
}

// source says where a PEM setting comes from: a file (its path is no
// secret) or the value itself.
func source(v string) string {
	if isPEM(v) {
		return "the setting's value"
	}
	return v
}

// isPEM tells PEM content from a file path: k8s Secrets are mounted as
// files (the usual way) or passed in env vars (the content).
func isPEM(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") }

// readPEM returns the PEM of setting name: value itself, or the file it
// names.
func readPEM(name, value string) ([]byte, error) {
	if isPEM(value) {
		return []byte(value), nil
	}
	b, err := os.ReadFile(value)
	if err != nil {
		// The *PathError names the path and the cause, nothing of the content.
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func loadCA(value string) (*x509.CertPool, error) {
	raw, err := readPEM("TEMPORAL_TLS_CA", value)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("TEMPORAL_TLS_CA: no PEM certificate in %s", source(value))
	}
	return pool, nil
}

func loadPair(certValue, keyValue string) (tls.Certificate, error) {
	certPEM, err := readPEM("TEMPORAL_TLS_CERT", certValue)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPEM("TEMPORAL_TLS_KEY", keyValue)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Say which setting is wrong before the pair is matched: X509KeyPair's
	// own messages do not name them.
	if !hasBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("TEMPORAL_TLS_CERT: no PEM certificate in %s", source(certValue))
	}
	if !hasBlock(keyPEM, "PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("TEMPORAL_TLS_KEY: no PEM private key in %s", source(keyValue))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Its messages describe the mismatch, never the key.
		return tls.Certificate{}, fmt.Errorf("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: %w", err)
	}
	return pair, nil
}

// hasBlock reports whether raw holds a PEM block whose type ends in kind
// (PRIVATE KEY covers "EC PRIVATE KEY", "RSA PRIVATE KEY" and PKCS #8).
func hasBlock(raw []byte, kind string) bool {
	for {
		var b *pem.Block
		b, raw = pem.Decode(raw)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, kind) {
			return true
		}
	}
}
