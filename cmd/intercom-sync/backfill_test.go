package main

import (
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/workflows"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"2026-01-02T03:04:05Z": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02":           time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSince("yesterday", now); err == nil {
		t.Error("parseSince(yesterday) did not fail")
	}
}

func TestProgressBar(t *testing.T) {
	p := workflows.BackfillProgress{Phase: "users", Total: 10_000, Rate: 100,
		BackfillCounts: activities.BackfillCounts{Done: 3_000, Unchanged: 2_000, Failed: 2}}
	want := "[#########.....................]  30%  3000/10000  users  100.0/s  ETA 1m10s  unchanged 2000  failed 2"
	if got := progressBar(p, 30); got != want {
		t.Fatalf("progressBar =\n%q\nwant\n%q", got, want)
	}
	p.DryRun, p.Total, p.Done, p.Rate = true, 0, 0, 0
	if got := progressBar(p, 10); !strings.HasPrefix(got, "[##########] 100%  0/0") || !strings.HasSuffix(got, "(dry run)") ||
		!strings.Contains(got, "ETA ?") {
		t.Fatalf("progressBar of an empty dry run = %q", got)
	}
}
