package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// benchMembers is about the size of the real member table, so the email
// scan (LOWER(TRIM(email)) cannot use an index) costs what it will.
const benchMembers = 20_000

// lookupServer serves the lookup endpoint over real HTTP, backed by a
// MariaDB member table of benchMembers rows and a Postgres positions table
// (two positions for every tenth member).
func lookupServer(b *testing.B) (*httptest.Server, *http.Client) {
	b.Helper()
	dsn, db := testenv.Members(b)
	ctx := context.Background()
	for start := 0; start < benchMembers; start += 1000 {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO members (membernumber, firstname, lastname, email, phone, region, facility, status, membertypeid) VALUES `)
		for i := start; i < start+1000; i++ {
			if i > start {
				sb.WriteString(",")
			}
			status := "Active"
			if i%7 == 0 {
				status = "Retired"
			}
			fmt.Fprintf(&sb, "('%d','First%d','Last%d','Member%05d@Example.com','(765) 465-%04d','R%d','F%03d','%s',%d)",
				300000+i, i, i, i, i%10000, i%10, i%400, status, 1+i%3)
		}
		if _, err := db.ExecContext(ctx, sb.String()); err != nil {
			b.Fatal(err)
		}
	}
	dir, err := members.Open(dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dir.Close() })

	_, pgURL := testenv.Store(b)
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO member_positions (membernumber, position)
		SELECT (300000 + i)::text, p FROM generate_series(0, $1 - 1, 10) AS i,
			unnest(ARRAY['Facility Representative', 'Area Representative']) AS p`, benchMembers); err != nil {
		b.Fatal(err)
	}
	ps, err := positions.Open(ctx, pgURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ps.Close)

	// The rate limit is out of the way: this measures the lookup itself.
	h := NewLookupHandler(lookupToken, dir, ps, testenv.Logger(b), WithLookupRateLimit(1<<30, 1<<20))
	srv := httptest.NewServer(Routes{Clerk: http.NotFoundHandler(), Lookup: h}.Router())
	b.Cleanup(srv.Close)
	// Enough idle connections that the parallel variant reuses them.
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return srv, cl
}

func lookupOnce(b *testing.B, cl *http.Client, url, email string, wantFound bool) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"email":"`+email+`"}`))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+lookupToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"found":true`)) != wantFound {
		b.Fatalf("%s: %d %s", email, resp.StatusCode, body)
	}
}

// BenchmarkLookupEmail is one support-tool request at a time: latency.
// Besides ns/op it reports p50 and p99 of the requests it made.
func BenchmarkLookupEmail(b *testing.B) {
	srv, cl := lookupServer(b)
	url := srv.URL + "/api/intercom/lookup-email"
	for _, tc := range []struct {
		name  string
		email func(i int) string
		found bool
	}{
		{"found", func(i int) string { return fmt.Sprintf("member%05d@example.com", (i*7919)%benchMembers) }, true},
		{"not_found", func(i int) string { return fmt.Sprintf("nobody%d@example.com", i) }, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lookupOnce(b, cl, url, tc.email(0), tc.found) // warm the pools
			took := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				lookupOnce(b, cl, url, tc.email(i), tc.found)
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkLookupEmailParallel is many concurrent requests: throughput
// (req/s), bounded by the member database scan and the pool sizes.
func BenchmarkLookupEmailParallel(b *testing.B) {
	srv, cl := lookupServer(b)
	url := srv.URL + "/api/intercom/lookup-email"
	lookupOnce(b, cl, url, "member00001@example.com", true)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4) // 4 × GOMAXPROCS concurrent callers
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			lookupOnce(b, cl, url, fmt.Sprintf("member%05d@example.com", (i*7919)%benchMembers), true)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
