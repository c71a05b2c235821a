package temporalclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/temporalclient"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// TEMPORAL_API_KEY goes out as "authorization: Bearer <key>" on every
// call, over TLS, and never into the logs. The server is a TLS gRPC
// server that records the metadata of whatever is called on it.
func TestAPIKeyIsSentAsBearer(t *testing.T) {
	const key = "temporal-cloud-api-key-4f1c"
	ca := testenv.NewCA(t, "cloud CA")
	srvCert := ca.Server(t, "cloud.temporal.test").Pair(t)
	got := make(chan metadata.MD, 16)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{srvCert}})),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			md, _ := metadata.FromIncomingContext(stream.Context())
			got <- md
			return status.Error(codes.Unavailable, "recorded")
		}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	cfg := config.Defaults()
	cfg.TemporalAddress, cfg.TemporalAPIKey = ln.Addr().String(), key
	cfg.TemporalTLSCA, cfg.TemporalTLSServerName = string(ca.CertPEM), "cloud.temporal.test"
	opts, err := temporalclient.Options(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectionOptions.TLS == nil {
		t.Fatal("an API key without TLS")
	}
	var logs bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logs)
	log.SetLevel(logrus.DebugLevel)
	opts.Logger = logging.NewTemporal(log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.NewLazyClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.CheckHealth(ctx, &client.CheckHealthRequest{}) // the server answers Unavailable; the call is what counts
	select {
	case md := <-got:
		if auth := md.Get("authorization"); len(auth) != 1 || auth[0] != "Bearer "+key {
			t.Fatalf("authorization = %q, want Bearer <key>", auth)
		}
	case <-ctx.Done():
		t.Fatal("no call reached the server")
	}
	if strings.Contains(logs.String(), key) || strings.Contains(temporalclient.Summary(cfg), key) {
		t.Fatal("the API key is in the logs or the summary")
	}
}

// A configuration that cannot work stops the start with an error that
// names the setting and shows no key.
func TestBadSettingsNameTheSetting(t *testing.T) {
	ca := testenv.NewCA(t, "ca")
	pair := ca.Client(t, "c")
	other := ca.Client(t, "other")
	dir := t.TempDir()
	certFile, keyFile := pair.Files(t, dir, "c")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a pem file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		set        func(*config.Config)
	}{
		{"cert without key", "TEMPORAL_TLS_KEY", func(c *config.Config) { c.TemporalTLSCert = certFile }},
		{"key without cert", "TEMPORAL_TLS_CERT", func(c *config.Config) { c.TemporalTLSKey = keyFile }},
		{"unreadable cert", "TEMPORAL_TLS_CERT: open " + dir + "/missing.crt",
			func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = dir+"/missing.crt", keyFile }},
		{"unreadable key", "TEMPORAL_TLS_KEY: open",
			func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = certFile, dir+"/missing.key" }},
		{"unreadable CA", "TEMPORAL_TLS_CA: open", func(c *config.Config) { c.TemporalTLSCA = dir + "/missing-ca.crt" }},
		{"bad CA", "TEMPORAL_TLS_CA: no PEM certificate", func(c *config.Config) { c.TemporalTLSCA = garbage }},
		{"bad cert", "TEMPORAL_TLS_CERT: no PEM certificate", func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = garbage, keyFile }},
		{"key as cert", "TEMPORAL_TLS_CERT: no PEM certificate",
			func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = string(pair.KeyPEM), string(pair.KeyPEM) }},
		{"bad key", "TEMPORAL_TLS_KEY: no PEM private key", func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = certFile, garbage }},
		{"key of another cert", "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY",
			func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = certFile, string(other.KeyPEM) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Defaults()
			c.set(&cfg)
			_, err := temporalclient.Options(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			for _, secret := range [][]byte{pair.KeyPEM, other.KeyPEM} {
				if strings.Contains(err.Error(), strings.TrimSpace(string(secret))[30:60]) {
					t.Fatalf("the error shows a key: %v", err)
				}
			}
		})
	}
}

// The summary the logs and the doctor show says what is on and where
// files are, never PEM content.
func TestSummary(t *testing.T) {
	ca := testenv.NewCA(t, "ca")
	pair := ca.Client(t, "c")
	cfg := config.Defaults()
	if got := temporalclient.Summary(cfg); got != "plaintext (no TLS)" {
		t.Errorf("default summary %q", got)
	}
	cfg.TemporalTLS = true
	if got := temporalclient.Summary(cfg); got != "TLS 1.2+, server verified against the system's roots" {
		t.Errorf("TEMPORAL_TLS=true summary %q", got)
	}
	cfg.TemporalTLSCert, cfg.TemporalTLSKey, cfg.TemporalTLSCA = string(pair.CertPEM), string(pair.KeyPEM), "/etc/temporal-tls/ca.crt"
	cfg.TemporalTLSServerName, cfg.TemporalAPIKey = "temporal.example", "k3y"
	got := temporalclient.Summary(cfg)
	want := "TLS 1.2+, client certificate from the setting's value, server verified against the CA from /etc/temporal-tls/ca.crt, server name temporal.example, API key set"
	if got != want {
		t.Errorf("summary\n%q\nwant\n%q", got, want)
	}
}
