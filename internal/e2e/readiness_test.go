package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/api"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// /readyz means "can take webhooks": it follows Temporal alone. With
// ?verbose=1 it also reports Postgres and the member database, whose
// failures leave it ready (the webhooks need neither).
func TestReadinessFollowsTemporalOnly(t *testing.T) {
	t.Parallel()
	_, dbURL := testenv.Store(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	memberDSN, _ := testenv.Members(t)
	dir, err := members.Open(memberDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	live := testenv.Temporal(t)
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()

	ready := func(temporal api.Check, path string) (int, map[string]string) {
		srv := httptest.NewServer(api.Routes{Clerk: http.NotFoundHandler(), Checks: []api.Check{temporal},
			Dependencies: []api.Check{{Name: "postgres", Check: st.Ping}, {Name: "mysql", Check: dir.Ping}}}.Router())
		defer srv.Close()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Checks
	}
	const verbose = "/readyz?verbose=1"

	if code, checks := ready(api.TemporalCheck(live), verbose); code != 200 || len(checks) != 3 {
		t.Fatalf("all up: %d %v", code, checks)
	}
	if code, _ := ready(api.TemporalCheck(dead), "/readyz"); code != 503 {
		t.Fatalf("Temporal down: %d, want 503", code)
	}
	if code, checks := ready(api.TemporalCheck(dead), verbose); code != 503 || checks["temporal"] != "unavailable" || checks["postgres"] != "ok" {
		t.Fatalf("Temporal down, verbose: %d %v", code, checks)
	}
	dir.Close()
	if code, _ := ready(api.TemporalCheck(live), "/readyz"); code != 200 {
		t.Fatalf("member database down: %d, want 200 (intake does not need it)", code)
	}
	if code, checks := ready(api.TemporalCheck(live), verbose); code != 200 || checks["mysql"] != "unavailable" || checks["temporal"] != "ok" {
		t.Fatalf("member database down, verbose: %d %v", code, checks)
	}
	st.Close()
	if code, checks := ready(api.TemporalCheck(live), verbose); code != 200 || checks["postgres"] != "unavailable" || checks["mysql"] != "unavailable" {
		t.Fatalf("Postgres down, verbose: %d %v", code, checks)
	}
}
