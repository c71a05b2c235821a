// Package testenv gives integration tests the real services `make test`
// starts: a fresh Postgres database per test, the Temporal dev server and
// MariaDB. A missing service fails the test — it never skips — so a CI run
// cannot pass without exercising them.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/store"
)

// Env returns the variable or fails the test, saying how to get it.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: integration tests need the services `make test` starts (see README)", name)
	}
	return v
}

// Name returns a short random name with prefix, unique across test runs.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// PostgresURL creates an empty database for this test and returns its URL;
// the database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := Env(t, "TEST_DATABASE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test Postgres (%s): %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	name := Name("t_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store opens a migrated store on a fresh database.
func Store(t testing.TB) (*store.Store, string) {
	t.Helper()
	dsn := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s, dsn
}

// TemporalAddress is the dev server's host:port.
func TemporalAddress(t testing.TB) string { return Env(t, "TEST_TEMPORAL_ADDRESS") }

// TemporalNamespace is the namespace tests use.
func TemporalNamespace() string {
	if ns := os.Getenv("TEST_TEMPORAL_NAMESPACE"); ns != "" {
		return ns
	}
	return "default"
}

// Temporal dials the dev server; the client is closed when the test ends.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  TemporalAddress(t),
		Namespace: TemporalNamespace(),
		Logger:    logging.NewTemporal(Logger(t)),
	})
	if err != nil {
		t.Fatalf("dial Temporal at %s: %v", TemporalAddress(t), err)
	}
	t.Cleanup(c.Close)
	return c
}

// Logger writes to the test log at warn level (keeps output readable;
// set TEST_LOG_LEVEL=debug for more).
func Logger(t testing.TB) *logrus.Logger {
	l := logrus.New()
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	l.SetOutput(w)
	lvl := logrus.WarnLevel
	if v := os.Getenv("TEST_LOG_LEVEL"); v != "" {
		if parsed, err := logrus.ParseLevel(v); err == nil {
			lvl = parsed
		}
	}
	l.SetLevel(lvl)
	return l
}

// testWriter sends log lines to t.Log until the test ends; workers may
// still log while they stop, and t.Log after the end panics.
type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
