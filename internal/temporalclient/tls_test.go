package temporalclient_test

import (
	"context"
	"crypto/tls"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/temporalclient"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// pki is a test's CAs and certificates: the proxy's server certificate
// names temporal.test only (not 127.0.0.1).
type pki struct {
	ca, otherCA        *testenv.CA
	server             testenv.Issued
	client             testenv.Issued
	clientOfOtherCA    testenv.Issued
	caFile, otherCAPEM string
	certFile, keyFile  string
}

const serverName = "temporal.test"

func newPKI(t *testing.T) pki {
	dir := t.TempDir()
	p := pki{ca: testenv.NewCA(t, "test CA"), otherCA: testenv.NewCA(t, "other CA")}
	p.server = p.ca.Server(t, serverName)
	p.client = p.ca.Client(t, "intercom-sync")
	p.clientOfOtherCA = p.otherCA.Client(t, "intruder")
	p.certFile, p.keyFile = p.client.Files(t, dir, "client")
	p.caFile = dir + "/ca.crt"
	writeFile(t, p.caFile, p.ca.CertPEM)
	p.otherCAPEM = string(p.otherCA.CertPEM)
	return p
}

// mTLSProxy requires and verifies a client certificate of the test CA,
// and forwards to the dev server.
func (p pki) mTLSProxy(t *testing.T) *testenv.TLSProxy {
	return testenv.NewTLSProxy(t, &tls.Config{
		Certificates: []tls.Certificate{p.server.Pair(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: p.ca.Pool(),
	}, testenv.TemporalAddress(t))
}

func (p pki) config(addr string) config.Config {
	cfg := config.Defaults()
	cfg.TemporalAddress, cfg.TemporalNamespace = addr, testenv.TemporalNamespace()
	cfg.TemporalTLS = true
	cfg.TemporalTLSCert, cfg.TemporalTLSKey, cfg.TemporalTLSCA = p.certFile, p.keyFile, p.caFile
	cfg.TemporalTLSServerName = serverName
	return cfg
}

// dial connects with the recipe's options and checks the server answers
// (client.Dial itself asks the server for its capabilities).
func dial(t *testing.T, cfg config.Config) (client.Client, error) {
	t.Helper()
	opts, err := temporalclient.Options(cfg)
	if err != nil {
		t.Fatalf("Options: %v", err)
	}
	opts.Logger = logging.NewTemporal(testenv.Logger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return nil, err
	}
	return c, nil
}

func echo(_ workflow.Context, s string) (string, error) { return "tls:" + s, nil }

// (1) With certificate, key, CA and server name from the configuration,
// the client gets through a proxy that verifies client certificates, and
// a workflow runs to its end over it (the worker polls through the proxy
// too).
func TestMutualTLSRunsAWorkflow(t *testing.T) {
	p := newPKI(t)
	c, err := dial(t, p.config(p.mTLSProxy(t).Addr))
	if err != nil {
		t.Fatalf("mTLS dial through the proxy: %v", err)
	}
	queue := testenv.Name("tls-")
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(echo, workflow.RegisterOptions{Name: "TLSEcho"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, "TLSEcho", "ok")
	if err != nil {
		t.Fatalf("start over mTLS: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "tls:ok" {
		t.Fatalf("workflow over mTLS = %q, %v; want tls:ok", got, err)
	}
}

// (2) and (3): without a client certificate, or with one of another CA,
// the proxy refuses the handshake; (3') a server certificate of a CA the
// client does not trust is refused by the client.
func TestTLSRefusals(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	otherCert, otherKey := p.clientOfOtherCA.Files(t, dir, "other")
	for _, c := range []struct {
		name string
		set  func(*config.Config)
		// the refusal: by the proxy (TLS 1.3 lets the client finish its
		// side first, so the proxy's reason is the one to check) or by
		// the client.
		proxySays, clientSays string
	}{
		{"no client certificate", func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = "", "" },
			"client didn't provide a certificate", ""},
		// crypto/tls sends no certificate that the proxy's accepted CAs
		// did not sign, so the proxy sees none.
		{"client certificate of another CA", func(c *config.Config) { c.TemporalTLSCert, c.TemporalTLSKey = otherCert, otherKey },
			"client didn't provide a certificate", ""},
		{"server of an untrusted CA", func(c *config.Config) { c.TemporalTLSCA = p.otherCAPEM },
			"", "certificate signed by unknown authority"},
		{"system roots only", func(c *config.Config) { c.TemporalTLSCA = "" },
			"", "certificate signed by unknown authority"},
	} {
		t.Run(c.name, func(t *testing.T) {
			proxy := p.mTLSProxy(t)
			cfg := p.config(proxy.Addr)
			c.set(&cfg)
			_, err := dial(t, cfg)
			if err == nil {
				t.Fatal("the connection was accepted")
			}
			if c.clientSays != "" && !strings.Contains(err.Error(), c.clientSays) {
				t.Errorf("client error %v, want %q", err, c.clientSays)
			}
			if c.proxySays != "" {
				errs := proxy.HandshakeErrors()
				if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.proxySays) {
					t.Errorf("proxy handshake errors %v, want %q", errs, c.proxySays)
				}
			}
		})
	}
}

// (4) The proxy's certificate names temporal.test, not 127.0.0.1: without
// TEMPORAL_TLS_SERVER_NAME the client refuses it; with it, it connects.
// The key pair is given as PEM content here (the env-var form).
func TestServerName(t *testing.T) {
	p := newPKI(t)
	cfg := p.config(p.mTLSProxy(t).Addr)
	cfg.TemporalTLSCert, cfg.TemporalTLSKey, cfg.TemporalTLSCA = string(p.client.CertPEM), string(p.client.KeyPEM), string(p.ca.CertPEM)
	cfg.TemporalTLSServerName = ""
	_, err := dial(t, cfg)
	if err == nil {
		t.Fatal("a certificate for temporal.test was accepted for 127.0.0.1")
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("refused for another reason than the name: %v", err)
	}
	cfg.TemporalTLSServerName = serverName
	if _, err := dial(t, cfg); err != nil {
		t.Fatalf("with TEMPORAL_TLS_SERVER_NAME=%s: %v", serverName, err)
	}
}

// The client never speaks anything below TLS 1.2: a server capped at 1.1
// is refused.
func TestMinimumTLS12(t *testing.T) {
	p := newPKI(t)
	cfg := p.config("unused:1")
	tc, err := temporalclient.TLSConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x, want TLS 1.2", tc.MinVersion)
	}
	old := testenv.NewTLSProxy(t, &tls.Config{Certificates: []tls.Certificate{p.server.Pair(t)},
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, testenv.TemporalAddress(t))
	conn, err := tls.Dial("tcp", old.Addr, tc)
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 server was accepted")
	}
	if !strings.Contains(err.Error(), "version") {
		t.Fatalf("handshake with a TLS 1.1 server: %v, want a protocol version error", err)
	}
}

// Without any TLS setting the connection stays plaintext (the local dev
// server).
func TestPlaintextByDefault(t *testing.T) {
	cfg := config.Defaults()
	cfg.TemporalAddress, cfg.TemporalNamespace = testenv.TemporalAddress(t), testenv.TemporalNamespace()
	opts, err := temporalclient.Options(cfg)
	if err != nil || opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
		t.Fatalf("default options: TLS %v, credentials %v, %v", opts.ConnectionOptions.TLS, opts.Credentials, err)
	}
	if _, err := dial(t, cfg); err != nil {
		t.Fatalf("plaintext dial of the dev server: %v", err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
