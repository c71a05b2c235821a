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

// /readyz is true only while Postgres, the member database and Temporal
// answer, and names the one that does not.
func TestReadinessFollowsDependencies(t *testing.T) {
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

	ready := func(temporal api.Check) (int, map[string]string) {
		srv := httptest.NewServer(api.Routes{Clerk: http.NotFoundHandler(), Checks: []api.Check{
			{Name: "postgres", Check: st.Ping}, {Name: "mysql", Check: dir.Ping}, temporal,
		}}.Router())
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/readyz")
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

	if code, checks := ready(api.TemporalCheck(live)); code != 200 {
		t.Fatalf("all up: %d %v", code, checks)
	}
	if code, checks := ready(api.TemporalCheck(dead)); code != 503 || checks["temporal"] != "unavailable" || checks["postgres"] != "ok" {
		t.Fatalf("Temporal down: %d %v", code, checks)
	}
	dir.Close()
	if code, checks := ready(api.TemporalCheck(live)); code != 503 || checks["mysql"] != "unavailable" {
		t.Fatalf("member database down: %d %v", code, checks)
	}
	st.Close()
	if code, checks := ready(api.TemporalCheck(live)); code != 503 || checks["postgres"] != "unavailable" {
		t.Fatalf("Postgres down: %d %v", code, checks)
	}
}
