// Package e2e runs the whole service — API, workers, activities — against
// the real Temporal dev server, a real Postgres database and the Intercom
// emulator, and checks what ends up in Intercom.
package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/api"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/logging"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/worker"
)

const (
	clerkSecret   = "whsec_aW50ZXJjb20tc3luYy1lMmUtdGVzdC1zZWNyZXQ="
	intercomToken = "e2e-token"
	environment   = "e2e"
)

// stack is one isolated instance of the service: its own database, task
// queues and emulator, sharing the Temporal dev server.
type stack struct {
	t        testing.TB
	store    *store.Store
	emulator *emulator.Server
	temporal client.Client
	api      *httptest.Server
	sender   clerksim.Sender
	prefix   string // makes entity ids (and so workflow ids) unique per test
	queue    string // TEMPORAL_TASK_QUEUE of this stack
	// members is an admin handle on the stack's member database (the demo
	// data of deploy/local/members.sql); positions live in the app
	// database, at dbURL.
	members *sql.DB
	dbURL   string
	metrics *metrics.Metrics
	// acts and workers are the stack's worker side, for tests that stop
	// and replace the workers.
	acts    *activities.Activities
	workers *worker.Workers
}

type stackOptions struct {
	faults emulator.Faults
	// temporal overrides the client the API uses (e.g. through a proxy).
	temporal client.Client
	// rateLimitPerMinute is the emulator's rate limit (0: none).
	rateLimitPerMinute int
	// intercomTransport, if set, wraps the workers' transport to Intercom
	// (e.g. to lose answers of calls the emulator did carry out).
	intercomTransport func(http.RoundTripper) http.RoundTripper
	// adminID is INTERCOM_ADMIN_ID (empty: GET /me).
	adminID string
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	st, dbURL := testenv.Store(t)
	em := emulator.New(emulator.Options{Token: intercomToken, Faults: o.faults, RateLimitPerMinute: o.rateLimitPerMinute})
	emSrv := httptest.NewServer(em)
	t.Cleanup(emSrv.Close)
	// Instrumented as in production: the SDK's metrics, the API's
	// starts, Intercom calls and HTTP requests all land in m.
	m := metrics.New()
	tc, err := client.NewClientFromExisting(testenv.Temporal(t), client.Options{
		Namespace: testenv.TemporalNamespace(), MetricsHandler: m.Temporal(), Logger: logging.NewTemporal(testenv.Logger(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	registerSearchAttributes(t, tc)
	queue := testenv.Name("e2e-")
	log := testenv.Logger(t)
	memberDSN, memberDB := testenv.Members(t)
	memberDir, err := members.Open(memberDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = memberDir.Close() })
	positionStore, err := positions.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(positionStore.Close)

	// Every request and answer is checked against Intercom's OpenAPI
	// description.
	var transport http.RoundTripper = contract.NewValidatingTransport(t, http.DefaultTransport)
	if o.intercomTransport != nil {
		transport = o.intercomTransport(transport)
	}
	ic := intercom.New(intercom.Options{
		BaseURL: emSrv.URL, Token: intercomToken, Timeout: 10 * time.Second, Transport: transport,
	})
	ic.Observe, ic.ObserveWait = m.ObserveIntercom, m.ObserveRateLimitWait
	acts := &activities.Activities{
		Store:       st,
		Intercom:    ic,
		Environment: environment,
		Log:         log,
		Temporal:    tc,
		Members:     memberDir,
		Positions:   positionStore,
		MemberTypes: members.MustParseTypeMap(members.DefaultTypeMap),
		AdminID:     o.adminID,
	}
	w := worker.New(tc, worker.Options{TaskQueue: queue, IntercomTaskQueue: queue + "-intercom",
		IntercomRateLimitPerMinute: 60_000}, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	var apiClient client.Client = metrics.CountingClient{Client: tc, M: m}
	if o.temporal != nil {
		apiClient = metrics.CountingClient{Client: o.temporal, M: m}
	}
	h, err := api.NewClerkHandler(clerkSecret, apiClient, api.Queues{Workflows: queue, Intercom: queue + "-intercom"},
		api.DefaultStartTimeout, log)
	if err != nil {
		t.Fatal(err)
	}
	ih, err := api.NewIntercomHandler(intercomWebhookSecret, false, apiClient,
		api.Queues{Workflows: queue, Intercom: queue + "-intercom"}, api.DefaultStartTimeout, log)
	if err != nil {
		t.Fatal(err)
	}
	lookup := api.NewLookupHandler(lookupToken, memberDir, positionStore, log)
	srv := httptest.NewServer(api.Routes{Clerk: h, Intercom: ih, Lookup: lookup,
		Metrics: m.Handler(), Middleware: m.Middleware}.Router())
	t.Cleanup(srv.Close)
	return &stack{
		t: t, store: st, emulator: em, temporal: tc, api: srv,
		sender:  clerksim.Sender{URL: srv.URL + "/webhooks/clerk", Secret: clerkSecret},
		prefix:  testenv.Name("") + "_",
		queue:   queue,
		members: memberDB, dbURL: dbURL,
		metrics: m,
		acts:    acts, workers: w,
	}
}

// id makes a Clerk id unique to this test run.
func (s *stack) id(kind, name string) string { return kind + "_" + s.prefix + name }

// send posts a signed delivery and requires a 200.
func (s *stack) send(svixID string, body []byte) {
	s.t.Helper()
	resp, err := s.sender.Send(context.Background(), s.prefix+svixID, body)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("delivery %s answered %d", svixID, resp.StatusCode)
	}
}

// waitIdle waits until no run of the given workflows is open, so every
// accepted event has been applied and pushed.
func (s *stack) waitIdle(timeout time.Duration, workflowIDs ...string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range workflowIDs {
		for {
			d, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				break // never started: nothing to wait for
			}
			if err != nil {
				s.t.Fatalf("describe %s: %v", id, err)
			}
			status := d.WorkflowExecutionInfo.Status
			if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				if status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
					s.t.Fatalf("workflow %s ended %s", id, status)
				}
				break
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("workflow %s still running after %s", id, timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// contactsByExternalID returns the live (not archived, not merged)
// contacts with that external_id.
func (s *stack) contactsByExternalID(ext string) []emulator.Contact {
	var out []emulator.Contact
	for _, c := range s.emulator.Snapshot().Contacts {
		if c.ExternalID == ext && !c.Archived && c.MergedInto == "" {
			out = append(out, c)
		}
	}
	return out
}

// contact requires exactly one contact for ext.
func (s *stack) contact(ext string) emulator.Contact {
	s.t.Helper()
	cs := s.contactsByExternalID(ext)
	if len(cs) != 1 {
		s.t.Fatalf("%d contacts with external_id %s, want exactly 1", len(cs), ext)
	}
	return cs[0]
}

func (s *stack) company(companyID string) (emulator.Company, bool) {
	for _, c := range s.emulator.Snapshot().Companies {
		if c.CompanyID == companyID {
			return c, true
		}
	}
	return emulator.Company{}, false
}

// companyIDsOf maps the contact's attached Intercom company ids to our
// company_ids, sorted.
func (s *stack) companyIDsOf(c emulator.Contact) []string {
	byID := map[string]string{}
	for _, co := range s.emulator.Snapshot().Companies {
		byID[co.ID] = co.CompanyID
	}
	var out []string
	for _, id := range c.CompanyIDs {
		out = append(out, byID[id])
	}
	slices.Sort(out)
	return out
}

func (s *stack) writes() int64 { return s.emulator.Snapshot().Counters.Writes }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fmtList(v []string) string { return fmt.Sprint(v) }

var searchAttributesOnce sync.Once

// registerSearchAttributes does what `intercom-sync migrate` does for the
// namespace, once per test binary.
func registerSearchAttributes(t testing.TB, c client.Client) {
	var err error
	searchAttributesOnce.Do(func() {
		_, err = searchattr.Register(context.Background(), c, testenv.TemporalNamespace())
	})
	if err != nil {
		t.Fatal(err)
	}
}
