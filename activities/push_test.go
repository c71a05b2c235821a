package activities_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/entity"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	dto "github.com/prometheus/client_model/go"
)

type fixture struct {
	t     *testing.T
	acts  *activities.Activities
	em    *emulator.Server
	emURL string
	env   *testsuite.TestActivityEnvironment
	dsn   string // the test's own app database
}

func newFixture(t *testing.T, emOpts emulator.Options) *fixture {
	st, dsn := testenv.Store(t)
	emOpts.Token = "tok"
	em := emulator.New(emOpts)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	acts, err := activities.New(activities.Deps{
		Store: st,
		Intercom: intercom.New(intercom.Options{BaseURL: srv.URL, Token: "tok",
			Transport: contract.NewValidatingTransport(t, http.DefaultTransport)}),
		Environment: "test",
		Log:         testenv.Logger(t),
		// Tests of the enrichment and of signals plug in their own.
		Members:     unplugged{},
		Positions:   unplugged{},
		Temporal:    unplugged{},
		Metrics:     metrics.New(),
		MemberTypes: members.MustParseTypeMap(members.DefaultTypeMap),
	})
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &fixture{t: t, acts: acts, em: em, emURL: srv.URL, env: env, dsn: dsn}
}

// unplugged stands for a dependency a test does not use: any call to it
// fails the activity.
type unplugged struct{}

var errUnplugged = errors.New("this dependency is not part of the test")

func (unplugged) FindByEmail(context.Context, string) (members.Member, error) {
	return members.Member{}, errUnplugged
}
func (unplugged) FindByNumber(context.Context, string) (members.Member, error) {
	return members.Member{}, errUnplugged
}
func (unplugged) ForMember(context.Context, string) ([]string, error) { return nil, errUnplugged }
func (unplugged) SignalWithStartWorkflow(context.Context, string, string, interface{}, client.StartWorkflowOptions,
	interface{}, ...interface{}) (client.WorkflowRun, error) {
	return nil, errUnplugged
}

func (f *fixture) apply(svixID string, body []byte) store.ApplyResult {
	f.t.Helper()
	env, err := clerk.ParseEnvelope(body)
	if err != nil {
		f.t.Fatal(err)
	}
	_, entity, err := clerk.Route(env)
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := f.env.ExecuteActivity(f.acts.ApplyClerkEvent, clerk.Delivery{SvixID: svixID, Type: env.Type, EntityID: entity, Data: env.Data})
	if err != nil {
		f.t.Fatalf("apply %s: %v", svixID, err)
	}
	var res store.ApplyResult
	if err := v.Get(&res); err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) push(fn any, id string) (activities.PushResult, error) {
	return f.pushReq(fn, activities.PushRequest{EntityID: id})
}

func (f *fixture) pushReq(fn any, req activities.PushRequest) (activities.PushResult, error) {
	v, err := f.env.ExecuteActivity(fn, req)
	if err != nil {
		return activities.PushResult{}, err
	}
	var res activities.PushResult
	return res, v.Get(&res)
}

func (f *fixture) mustPush(fn any, id string) activities.PushResult {
	f.t.Helper()
	res, err := f.push(fn, id)
	if err != nil {
		f.t.Fatalf("push %s: %v", id, err)
	}
	return res
}

func (f *fixture) writes() int64 { return f.em.Snapshot().Counters.Writes }

var (
	org  = clerksim.Org{ID: "org_1", Name: "Acme", CreatedAtMs: 1_700_000_000_000, UpdatedAtMs: 1_700_000_000_000}
	user = clerksim.User{ID: "user_1", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		CreatedAtMs: 1_700_000_000_000, UpdatedAtMs: 1_700_000_000_000}
	membership = clerksim.Membership{ID: "orgmem_1", UserID: "user_1", Org: org, CreatedAtMs: 1, UpdatedAtMs: 1}
)

func TestApplyClerkEventTwiceChangesNothing(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	body := clerksim.UserEvent(clerk.UserCreated, user)
	if r := f.apply("m1", body); !r.Changed {
		t.Fatalf("first run: %+v", r)
	}
	if r := f.apply("m1", body); !r.Duplicate || r.Changed {
		t.Fatalf("second run: %+v, want duplicate", r)
	}
}

func TestApplyClerkEventRejectsUnusableData(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := f.env.ExecuteActivity(f.acts.ApplyClerkEvent,
		clerk.Delivery{SvixID: "bad", Type: clerk.UserUpdated, EntityID: "u", Data: []byte(`{"first_name":"x"}`)})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeBadEvent || !appErr.NonRetryable() {
		t.Fatalf("err = %v, want a non-retryable %s", err, activities.ErrTypeBadEvent)
	}
}

func TestPushOrgTwice(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	if r := f.mustPush(f.acts.PushOrg, org.ID); r.Outcome != activities.OutcomeCreated || r.IntercomID == "" {
		t.Fatalf("first push: %+v", r)
	}
	w := f.writes()
	if r := f.mustPush(f.acts.PushOrg, org.ID); r.Outcome != activities.OutcomeUnchanged {
		t.Fatalf("second push: %+v", r)
	}
	if f.writes() != w {
		t.Fatalf("second push wrote %d times", f.writes()-w)
	}
	snap := f.em.Snapshot()
	if len(snap.Companies) != 1 || snap.Companies[0].CompanyID != org.ID || snap.Companies[0].Name != "Acme" ||
		snap.Companies[0].RemoteCreatedAt != org.CreatedAtMs/1000 {
		t.Fatalf("companies = %+v", snap.Companies)
	}
	// The custom attribute was created before the first write; the
	// creation time is the standard remote_created_at, not a custom
	// created_at (a standard, read-only company attribute).
	custom := map[string]bool{}
	for _, a := range snap.DataAttributes {
		custom[a.Model+"."+a.Name] = a.Custom
	}
	if !custom["company.environment"] || custom["company.created_at"] {
		t.Fatalf("custom company attributes: %v", custom)
	}
	if _, ok := snap.Companies[0].CustomAttributes["created_at"]; ok {
		t.Fatalf("company carries a custom created_at: %v", snap.Companies[0].CustomAttributes)
	}
}

func TestPushUserTwice(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	f.apply("m1", clerksim.MembershipEvent(clerk.MembershipCreated, membership))
	first := f.mustPush(f.acts.PushUser, user.ID)
	if first.Outcome != activities.OutcomeCreated {
		t.Fatalf("first push: %+v", first)
	}
	w := f.writes()
	if r := f.mustPush(f.acts.PushUser, user.ID); r.Outcome != activities.OutcomeUnchanged || r.IntercomID != first.IntercomID {
		t.Fatalf("second push: %+v", r)
	}
	if f.writes() != w {
		t.Fatalf("second push wrote %d times", f.writes()-w)
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 1 || len(snap.Companies) != 1 {
		t.Fatalf("%d contacts, %d companies", len(snap.Contacts), len(snap.Companies))
	}
	c := snap.Contacts[0]
	if c.ExternalID != user.ID || c.Email != user.Email || c.Name != "Ada Lovelace" || c.Role != "user" ||
		c.SignedUpAt != user.CreatedAtMs/1000 || c.CustomAttributes["environment"] != "test" {
		t.Fatalf("contact = %+v", c)
	}
	if len(c.CompanyIDs) != 1 || c.CompanyIDs[0] != snap.Companies[0].ID {
		t.Fatalf("contact companies = %v", c.CompanyIDs)
	}
}

func TestPushUserDetachesEndedMemberships(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	f.apply("m1", clerksim.MembershipEvent(clerk.MembershipCreated, membership))
	f.mustPush(f.acts.PushUser, user.ID)
	f.apply("m2", clerksim.MembershipEvent(clerk.MembershipDeleted, membership))
	for i := 0; i < 2; i++ {
		f.mustPush(f.acts.PushUser, user.ID)
		if c := f.em.Snapshot().Contacts[0]; len(c.CompanyIDs) != 0 {
			t.Fatalf("run %d: still attached to %v", i, c.CompanyIDs)
		}
	}
}

func TestPushUserDeletedTwice(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	f.mustPush(f.acts.PushUser, user.ID)
	f.apply("u2", clerksim.DeletedEvent(clerk.UserDeleted, user.ID, "user"))
	if r := f.mustPush(f.acts.PushUser, user.ID); r.Outcome != activities.OutcomeDeleted {
		t.Fatalf("first delete: %+v", r)
	}
	w := f.writes()
	if r := f.mustPush(f.acts.PushUser, user.ID); r.Outcome != activities.OutcomeAbsent {
		t.Fatalf("second delete: %+v", r)
	}
	if len(f.em.Snapshot().Contacts) != 0 || f.writes() != w {
		t.Fatalf("after second delete: %d contacts, %d writes", len(f.em.Snapshot().Contacts), f.writes()-w)
	}
}

func TestPushOrgDeletedTwiceAnd404IsDone(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	f.mustPush(f.acts.PushOrg, org.ID)
	f.em.Reset() // someone deleted everything in Intercom: the delete must still succeed (404 = done)
	f.apply("o2", clerksim.DeletedEvent(clerk.OrgDeleted, org.ID, "organization"))
	if r := f.mustPush(f.acts.PushOrg, org.ID); r.Outcome != activities.OutcomeAbsent {
		t.Fatalf("delete of a company already gone: %+v", r)
	}
	if r := f.mustPush(f.acts.PushOrg, org.ID); r.Outcome != activities.OutcomeAbsent {
		t.Fatalf("second delete: %+v", r)
	}
}

// A contact that already exists in Intercom (made by an earlier system)
// but is not yet visible to search: the create answers 409, and the push
// updates the existing contact instead of failing or duplicating it.
func TestPushUserAdoptsExistingContactOn409(t *testing.T) {
	f := newFixture(t, emulator.Options{SearchIndexDelay: time.Hour})
	existing, err := f.em.AddContact(emulator.Contact{Role: "user", ExternalID: user.ID, Email: "old@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	r := f.mustPush(f.acts.PushUser, user.ID)
	if r.IntercomID != existing.ID || r.Outcome != activities.OutcomeUpdated {
		t.Fatalf("push = %+v, want an update of %s", r, existing.ID)
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 1 || snap.Contacts[0].Email != user.Email {
		t.Fatalf("contacts = %+v", snap.Contacts)
	}
}

// A contact deleted in Intercom behind our back is re-created on the next
// change.
func TestPushUserRecreatesContactDeletedInIntercom(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	first := f.mustPush(f.acts.PushUser, user.ID)
	f.em.Reset()
	renamed := user
	renamed.FirstName, renamed.UpdatedAtMs = "Augusta", user.UpdatedAtMs+1
	f.apply("u2", clerksim.UserEvent(clerk.UserUpdated, renamed))
	r := f.mustPush(f.acts.PushUser, user.ID)
	if r.Outcome != activities.OutcomeCreated || r.IntercomID == first.IntercomID {
		t.Fatalf("push = %+v", r)
	}
	if c := f.em.Snapshot().Contacts; len(c) != 1 || c[0].Name != "Augusta Lovelace" {
		t.Fatalf("contacts = %+v", c)
	}
}

// Intercom's answers become the right Temporal errors: 429 waits for the
// window reset, 5xx retries, 4xx fails at once with Intercom's message.
func TestIntercomErrorsBecomeRetryDecisions(t *testing.T) {
	cases := []struct {
		faults        emulator.Faults
		wantType      string
		nonRetryable  bool
		wantNextDelay bool
	}{
		{emulator.Faults{RateLimitRate: 1}, activities.ErrTypeRateLimited, false, true},
		{emulator.Faults{ServerErrorRate: 1}, activities.ErrTypeServer, false, false},
	}
	for _, tc := range cases {
		f := newFixture(t, emulator.Options{Faults: tc.faults})
		f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
		_, err := f.push(f.acts.PushOrg, org.ID)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != tc.wantType || appErr.NonRetryable() != tc.nonRetryable {
			t.Fatalf("faults %+v: err = %v, want %s", tc.faults, err, tc.wantType)
		}
		if tc.wantNextDelay && (appErr.NextRetryDelay() <= 0 || appErr.NextRetryDelay() > 11*time.Second) {
			t.Fatalf("429 NextRetryDelay = %s, want up to the window reset", appErr.NextRetryDelay())
		}
	}

	// A wrong token: 401 fails at once, whatever the retry policy.
	f := newFixture(t, emulator.Options{})
	f.acts.Intercom = intercom.New(intercom.Options{BaseURL: f.emURL, Token: "wrong"})
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	_, err := f.push(f.acts.PushOrg, org.ID)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeAuth || !appErr.NonRetryable() {
		t.Fatalf("err = %v, want a non-retryable %s", err, activities.ErrTypeAuth)
	}
}

// A forced push rewrites a contact edited in Intercom even though the
// database did not change.
func TestForcedPushRestoresEditsMadeInIntercom(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	f.apply("m1", clerksim.MembershipEvent(clerk.MembershipCreated, membership))
	first := f.mustPush(f.acts.PushUser, user.ID)
	// Someone renames the contact and detaches it in Intercom.
	snap := f.em.Snapshot()
	req, _ := http.NewRequest(http.MethodDelete, f.emURL+"/contacts/"+first.IntercomID+"/companies/"+snap.Companies[0].ID, nil)
	req.Header.Set("Authorization", "Bearer tok")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("detach by hand: %v %v", resp, err)
	}
	if r := f.mustPush(f.acts.PushUser, user.ID); r.Outcome != activities.OutcomeUnchanged {
		t.Fatalf("plain push: %+v, want unchanged (the hash matches)", r)
	}
	for i := 0; i < 2; i++ {
		r, err := f.pushReq(f.acts.PushUser, activities.PushRequest{EntityID: user.ID, Force: true})
		if err != nil || r.IntercomID != first.IntercomID {
			t.Fatalf("forced push %d: %+v %v", i, r, err)
		}
		if c := f.em.Snapshot().Contacts[0]; len(c.CompanyIDs) != 1 {
			t.Fatalf("forced push %d: companies %v, want re-attached", i, c.CompanyIDs)
		}
	}
}

// refuseAttribute answers Intercom's way (400) when a custom data
// attribute named name is created; every other call goes through.
type refuseAttribute struct {
	name string
	next http.RoundTripper
}

func (r refuseAttribute) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.URL.Path == "/data_attributes" {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"name":"`+r.name+`"`)) {
			return &http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"type":"error.list","request_id":"r1","errors":[{"code":"parameter_invalid",` +
					`"message":"You already have a standard attribute with this name"}]}`)), Request: req}, nil
		}
	}
	return r.next.RoundTrip(req)
}

// A custom attribute Intercom refuses to create never fails a push: it is
// counted, logged, and left out of the writes (which Intercom would refuse
// whole for naming an undefined attribute).
func TestPushSkipsACustomAttributeIntercomRefuses(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.acts.Intercom = intercom.New(intercom.Options{BaseURL: f.emURL, Token: "tok",
		Transport: refuseAttribute{name: "environment", next: http.DefaultTransport}})
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	for range 2 {
		if r, err := f.push(f.acts.PushOrg, org.ID); err != nil || r.IntercomID == "" {
			t.Fatalf("push = %+v, %v", r, err)
		}
	}
	snap := f.em.Snapshot()
	if len(snap.Companies) != 1 || snap.Companies[0].RemoteCreatedAt != org.CreatedAtMs/1000 {
		t.Fatalf("companies = %+v", snap.Companies)
	}
	if _, written := snap.Companies[0].CustomAttributes["environment"]; written {
		t.Fatalf("the refused attribute was written: %v", snap.Companies[0].CustomAttributes)
	}
	var refused dto.Metric
	if err := f.acts.Metrics.IntercomAttributesRefused.WithLabelValues("company", "environment").Write(&refused); err != nil {
		t.Fatal(err)
	}
	if n := refused.GetCounter().GetValue(); n != 1 {
		t.Fatalf("refusals counted %v times, want once per process", n)
	}
}

// Two pending invitations of one email (two organizations): where
// Intercom keeps users' emails unique, the second invited user's creation
// is answered 409 with the first's contact. The second push must not take
// that contact over (the first invitation would lose it): it fails, for
// this invitation alone, and the first contact keeps its external_id.
func TestInvitationDoesNotTakeOverAnotherInvitationsContact(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	other := clerksim.Org{ID: "org_2", Name: "Beta", CreatedAtMs: 1, UpdatedAtMs: 1}
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	f.apply("o2", clerksim.OrgEvent(clerk.OrgCreated, other))
	first := clerksim.Invitation{ID: "orginv_1", OrgID: org.ID, Email: "grace@example.com", Status: "pending", CreatedAtMs: 1, UpdatedAtMs: 1}
	second := clerksim.Invitation{ID: "orginv_2", OrgID: other.ID, Email: "grace@example.com", Status: "pending", CreatedAtMs: 2, UpdatedAtMs: 2}
	f.apply("i1", clerksim.InvitationEvent(clerk.InvitationCreated, first))
	f.apply("i2", clerksim.InvitationEvent(clerk.InvitationCreated, second))
	if r := f.mustPush(f.acts.PushInvitation, first.ID); r.Outcome != activities.OutcomeCreated {
		t.Fatalf("first invitation: %+v", r)
	}
	_, err := f.push(f.acts.PushInvitation, second.ID)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), "not this invitation's") {
		t.Fatalf("second invitation: err = %v, want a non-retryable refusal to take the contact over", err)
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 1 || snap.Contacts[0].ExternalID != activities.InvitedExternalID(first.ID) {
		t.Fatalf("contacts = %+v, want the first invitation's, untouched", snap.Contacts)
	}
}

// Where users with different external_ids may share an email, the two
// invitations of one email get a contact each.
func TestInvitationsOfOneEmailWhereUsersShareEmails(t *testing.T) {
	f := newFixture(t, emulator.Options{Loose: emulator.Loose{UsersShareEmail: true}})
	other := clerksim.Org{ID: "org_2", Name: "Beta", CreatedAtMs: 1, UpdatedAtMs: 1}
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	f.apply("o2", clerksim.OrgEvent(clerk.OrgCreated, other))
	for i, o := range []clerksim.Org{org, other} {
		inv := clerksim.Invitation{ID: fmt.Sprintf("orginv_%d", i+1), OrgID: o.ID, Email: "grace@example.com", Status: "pending",
			CreatedAtMs: 1, UpdatedAtMs: 1}
		f.apply(inv.ID, clerksim.InvitationEvent(clerk.InvitationCreated, inv))
		if r := f.mustPush(f.acts.PushInvitation, inv.ID); r.Outcome != activities.OutcomeCreated {
			t.Fatalf("%s: %+v", inv.ID, r)
		}
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 2 || snap.Contacts[0].ExternalID == snap.Contacts[1].ExternalID {
		t.Fatalf("contacts = %+v, want one per invitation", snap.Contacts)
	}
	// The person signs up: the user takes one over; the other is absorbed.
	grace := clerksim.User{ID: "user_g", Email: "grace@example.com", FirstName: "Grace", CreatedAtMs: 2, UpdatedAtMs: 2}
	f.apply("ug", clerksim.UserEvent(clerk.UserCreated, grace))
	f.mustPush(f.acts.PushUser, grace.ID)
	snap = f.em.Snapshot()
	if len(snap.Contacts) != 1 || snap.Contacts[0].ExternalID != grace.ID || len(snap.Contacts[0].CompanyIDs) != 2 {
		t.Fatalf("contacts after sign-up = %+v, want the user's alone, in both companies", snap.Contacts)
	}
}

// The contact of a live user that was archived in Intercom (by TagResync,
// or an admin) is unarchived and updated by the next push: Intercom hides
// an archived contact from reads and refuses every write to it but
// unarchive, so a push that only updated the id a 409 names would fail on
// every attempt.
func TestPushUnarchivesTheContactOfALiveUser(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	f.apply("u1", clerksim.UserEvent(clerk.UserCreated, user))
	first := f.mustPush(f.acts.PushUser, user.ID)
	if err := f.acts.Intercom.ArchiveContact(context.Background(), first.IntercomID); err != nil {
		t.Fatal(err)
	}
	renamed := user
	renamed.FirstName, renamed.UpdatedAtMs = "Augusta", user.UpdatedAtMs+1
	f.apply("u2", clerksim.UserEvent(clerk.UserUpdated, renamed))
	res := f.mustPush(f.acts.PushUser, user.ID)
	if res.IntercomID != first.IntercomID {
		t.Fatalf("push = %+v, want the archived contact %s back", res, first.IntercomID)
	}
	snap := f.em.Snapshot()
	if len(snap.Contacts) != 1 || snap.Contacts[0].Archived || snap.Contacts[0].Name != "Augusta Lovelace" {
		t.Fatalf("contacts = %+v", snap.Contacts)
	}
	w := f.writes()
	if r := f.mustPush(f.acts.PushUser, user.ID); r.Outcome != activities.OutcomeUnchanged || f.writes() != w {
		t.Fatalf("second push %+v, %d writes", r, f.writes()-w)
	}
}

// SyncedIntercomID reads what the last push recorded, and reading it
// twice changes nothing.
func TestSyncedIntercomIDTwice(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	if id, err := f.acts.SyncedIntercomID(ctx, entity.Organization, org.ID); err != nil || id != "" {
		t.Fatalf("before any push: %q, %v", id, err)
	}
	f.apply("o1", clerksim.OrgEvent(clerk.OrgCreated, org))
	pushed := f.mustPush(f.acts.PushOrg, org.ID)
	w := f.writes()
	for range 2 {
		id, err := f.acts.SyncedIntercomID(ctx, entity.Organization, org.ID)
		if err != nil || id != pushed.IntercomID {
			t.Fatalf("SyncedIntercomID = %q, %v; want %q", id, err, pushed.IntercomID)
		}
	}
	if f.writes() != w {
		t.Fatal("a read wrote to Intercom")
	}
}
