package testenv

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL creates an empty database for this test on TEST_MYSQL_DSN (a root
// DSN without a database, e.g. "root@tcp(127.0.0.1:23306)/") and returns a
// DSN for it; the database is dropped when the test ends.
func MySQL(t testing.TB) string {
	t.Helper()
	admin := Env(t, "TEST_MYSQL_DSN")
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatalf("parse TEST_MYSQL_DSN: %v", err)
	}
	cfg.DBName = ""
	db := openMySQL(t, cfg.FormatDSN())
	defer db.Close()
	name := Name("t_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create MySQL database (TEST_MYSQL_DSN: is the test stack up?): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c := openMySQLOrNil(cfg.FormatDSN()); c != nil {
			_, _ = c.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
			_ = c.Close()
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// Members creates a database holding the members table with the demo rows
// of deploy/local/members.sql — the schema and data `make run` loads — and
// returns its DSN and an admin handle for adding rows (closed at cleanup).
func Members(t testing.TB) (string, *sql.DB) {
	t.Helper()
	dsn := MySQL(t)
	script, err := os.ReadFile(membersSQL())
	if err != nil {
		t.Fatalf("read members.sql: %v", err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MultiStatements = true
	loader := openMySQL(t, cfg.FormatDSN())
	defer loader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := loader.ExecContext(ctx, string(script)); err != nil {
		t.Fatalf("load members.sql: %v", err)
	}
	db := openMySQL(t, dsn)
	t.Cleanup(func() { _ = db.Close() })
	return dsn, db
}

// membersSQL is deploy/local/members.sql, found from this file's location
// so tests in any package can load it.
func membersSQL() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "local", "members.sql")
}

func openMySQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open MySQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		t.Fatalf("connect to test MySQL (TEST_MYSQL_DSN): %v", err)
	}
	return db
}

func openMySQLOrNil(dsn string) *sql.DB {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil
	}
	return db
}
