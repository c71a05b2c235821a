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

	"github.com/sirupsen/logrus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
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

// stack is one isolated instance of the service, built by internal/app as
// the binary builds it: its own database, task queues and emulator,
// sharing the Temporal dev server.
type stack struct {
	t        testing.TB
	app      *app.App
	cfg      config.Config // the configuration app was built from
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
	// workers are the stack's worker side, for tests that stop and replace
	// them.
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
	// payloadKeys is PAYLOAD_ENCRYPTION_KEYS (none: payloads in the
	// clear), codecToken CODEC_AUTH_TOKEN.
	payloadKeys []payloadcrypt.Key
	codecToken  string
	// log, if set, is the service's logger (a test that reads the logs);
	// default: the test's own, at TEST_LOG_LEVEL.
	log *logrus.Logger
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	_, dbURL := testenv.Store(t) // a fresh, migrated database
	em := emulator.New(emulator.Options{Token: intercomToken, Faults: o.faults, RateLimitPerMinute: o.rateLimitPerMinute})
	emSrv := httptest.NewServer(em)
	t.Cleanup(emSrv.Close)
	queue := testenv.Name("e2e-")
	memberDSN, memberDB := testenv.Members(t)

	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.PositionsDatabaseURL, cfg.MembersMySQLDSN = dbURL, dbURL, memberDSN
	cfg.TemporalAddress, cfg.TemporalNamespace = testenv.TemporalAddress(t), testenv.TemporalNamespace()
	cfg.TaskQueue, cfg.IntercomTaskQueue = queue, queue+"-intercom"
	cfg.IntercomAPIBaseURL, cfg.IntercomAccessToken, cfg.IntercomTimeout = emSrv.URL, intercomToken, 10*time.Second
	cfg.IntercomRateLimitPerMinute = 60_000
	cfg.IntercomAdminID = o.adminID
	cfg.PayloadKeys, cfg.CodecAuthToken = o.payloadKeys, o.codecToken
	cfg.EnvironmentName = environment
	cfg.ClerkWebhookSecret, cfg.IntercomWebhookSecret, cfg.LookupAPIToken = clerkSecret, intercomWebhookSecret, lookupToken

	s := &stack{t: t, cfg: cfg, emulator: em, prefix: testenv.Name("") + "_", queue: queue, members: memberDB, dbURL: dbURL}
	s.app = s.newApp(app.Parts{API: true, Workers: true}, o, worker.Tuning{})
	s.store, s.temporal, s.metrics = s.app.Store, s.app.Temporal, s.app.Metrics
	registerSearchAttributes(t, s.temporal)
	s.workers = s.app.NewWorkers()
	if err := s.workers.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.workers.Stop)
	h, err := s.app.Handler()
	if err != nil {
		t.Fatal(err)
	}
	s.api = httptest.NewServer(h)
	t.Cleanup(s.api.Close)
	s.sender = clerksim.Sender{URL: s.api.URL + "/webhooks/clerk", Secret: clerkSecret}
	return s
}

// newApp builds another process of this stack's service from its
// configuration, on the shared dev-server connection. Every request and
// answer to Intercom is checked against Intercom's OpenAPI description.
func (s *stack) newApp(parts app.Parts, o stackOptions, tuning worker.Tuning) *app.App {
	s.t.Helper()
	var transport http.RoundTripper = contract.NewValidatingTransport(s.t, http.DefaultTransport)
	if o.intercomTransport != nil {
		transport = o.intercomTransport(transport)
	}
	log := o.log
	if log == nil {
		log = testenv.Logger(s.t)
	}
	a, err := app.New(context.Background(), s.cfg, log, parts, app.Options{
		Temporal: testenv.Temporal(s.t), APITemporal: o.temporal, IntercomTransport: transport, Workers: tuning,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(a.Close)
	return a
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
