package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/contract"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
	dto "github.com/prometheus/client_model/go"
)

// newResyncFixture is the enrichment fixture (member and positions
// databases) with an emulator built from opts, and a log hook that sees
// every line the activities write.
func newResyncFixture(t *testing.T, opts emulator.Options) (*fixture, *logtest.Hook) {
	t.Helper()
	f := newEnrichFixture(t)
	opts.Token = "tok"
	f.em = emulator.New(opts)
	srv := httptest.NewServer(f.em)
	t.Cleanup(srv.Close)
	f.acts.Intercom = intercom.New(intercom.Options{BaseURL: srv.URL, Token: "tok",
		Transport: contract.NewValidatingTransport(t, http.DefaultTransport)})
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	f.acts.Log = log
	return f, hook
}

// run executes an activity and decodes its result into out.
func run[T any](f *fixture, fn any, arg any) (T, error) {
	var out T
	v, err := f.env.ExecuteActivity(fn, arg)
	if err != nil {
		return out, err
	}
	return out, v.Get(&out)
}

func mustRun[T any](f *fixture, fn any, arg any) T {
	f.t.Helper()
	out, err := run[T](f, fn, arg)
	if err != nil {
		f.t.Fatalf("activity: %v", err)
	}
	return out
}

func (f *fixture) calls(endpoint string) int64 { return f.em.Snapshot().Counters.ByEndpoint[endpoint] }

// liveByEmail lists the contacts the email has in Intercom that are not
// archived or merged away.
func (f *fixture) liveByEmail(email string) []emulator.Contact {
	var out []emulator.Contact
	for _, c := range f.em.Snapshot().Contacts {
		if strings.EqualFold(c.Email, email) && !c.Archived && c.MergedInto == "" {
			out = append(out, c)
		}
	}
	return out
}

// noEmails fails if any log line carries an email address.
func noEmails(t *testing.T, hook *logtest.Hook) {
	t.Helper()
	for _, e := range hook.AllEntries() {
		line, _ := e.String()
		if strings.Contains(line, "@") {
			t.Errorf("log line carries an email: %s", line)
		}
	}
}

// memberData is what EnrichConversation writes for member 100001 (Ada).
var memberData = map[string]any{"member_number": "100001", "member_type": "Member", "region": "R1", "facility": "F101",
	"positions": "Area Representative, Facility President"}

func assertMemberData(t *testing.T, c emulator.Contact) {
	t.Helper()
	for k, v := range memberData {
		if c.CustomAttributes[k] != v {
			t.Errorf("contact %s: custom_attributes.%s = %#v, want %#v", c.ID, k, c.CustomAttributes[k], v)
		}
	}
	if c.Phone != "+17654657031" || c.Role != "user" {
		t.Errorf("contact %s: phone %q role %q", c.ID, c.Phone, c.Role)
	}
}

const ada = "ada.lovelace@example.com"

func TestReadResyncConversationTwice(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	convs, err := f.em.SeedConversation(
		emulator.Conversation{CustomAttributes: map[string]any{"Member Number Verification": "100001"}},
		// The snake_case name, typed as a number.
		emulator.Conversation{CustomAttributes: map[string]any{"member_number_verification": int64(1234567)}},
		emulator.Conversation{CustomAttributes: map[string]any{"Member Number Verification": ""}},
	)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []activities.ResyncConversation{
		{Found: true, MemberNumber: "100001"}, {Found: true, MemberNumber: "1234567"}, {Found: true},
	} {
		for n := 0; n < 2; n++ {
			if got := mustRun[activities.ResyncConversation](f, f.acts.ReadResyncConversation, convs[i].ID); got != want {
				t.Fatalf("conversation %d, run %d: %+v, want %+v", i, n+1, got, want)
			}
		}
	}
	if got := mustRun[activities.ResyncConversation](f, f.acts.ReadResyncConversation, "999"); got.Found {
		t.Fatalf("missing conversation: %+v", got)
	}
	if f.writes() != 0 {
		t.Fatalf("%d writes", f.writes())
	}
}

// What is not 1 to 20 ASCII digits is refused, counted and logged without
// its value; the member database is not asked (Members is unplugged).
func TestReadResyncConversationRefusesInvalidMemberNumbers(t *testing.T) {
	f, hook := newResyncFixture(t, emulator.Options{})
	f.acts.Members = unplugged{}
	invalid := []any{"1e5", "-1", int64(-1), " 12 ", strings.Repeat("1", 40), "١٢٣٤٥", "１２３", "12a", true}
	for i, value := range invalid {
		attr := "Member Number Verification"
		if i%2 == 1 {
			attr = "member_number_verification"
		}
		convs, err := f.em.SeedConversation(emulator.Conversation{CustomAttributes: map[string]any{attr: value}})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 2; n++ {
			got := mustRun[activities.ResyncConversation](f, f.acts.ReadResyncConversation, convs[0].ID)
			if want := (activities.ResyncConversation{Found: true, InvalidMemberNumber: true}); got != want {
				t.Errorf("%#v, run %d: %+v, want %+v", value, n+1, got, want)
			}
		}
	}
	var refused dto.Metric
	if err := f.acts.Metrics.MemberNumbersInvalid.Write(&refused); err != nil {
		t.Fatal(err)
	}
	if got, want := refused.GetCounter().GetValue(), float64(2*len(invalid)); got != want {
		t.Fatalf("intercom_sync_member_numbers_invalid_total = %v, want %v", got, want)
	}
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "Refused member number") && e.Data["conversation_id"] == nil {
			t.Errorf("refusal logged without the conversation: %v", e.Data)
		}
		for _, v := range e.Data {
			if s, ok := v.(string); ok && (s == "1e5" || s == " 12 ") {
				t.Errorf("the refused value is in the log: %v", e.Data)
			}
		}
	}
	if f.writes() != 0 {
		t.Fatalf("%d writes", f.writes())
	}
}

// memberOverride adds members the demo database lacks (one without an
// email) in front of the real directory.
type memberOverride struct {
	activities.MemberDirectory
	extra map[string]members.Member
}

func (m memberOverride) FindByNumber(ctx context.Context, number string) (members.Member, error) {
	if x, ok := m.extra[number]; ok {
		return x, nil
	}
	return m.MemberDirectory.FindByNumber(ctx, number)
}

func TestLookupResyncMemberTwice(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	f.acts.Members = memberOverride{f.acts.Members, map[string]members.Member{
		"300001": {Number: "300001", Status: "Active"},
	}}
	for number, want := range map[string]activities.MemberLookup{
		"100001":   {MemberNumber: "100001", Found: true, HasEmail: true},
		" 100001 ": {},                                                     // not a member number: not looked up
		"1e5":      {},                                                     // likewise
		"100003":   {MemberNumber: "100003", Found: true, HasEmail: true},  // Retired
		"100005":   {MemberNumber: "100005"},                               // Inactive: not a member
		"999999":   {MemberNumber: "999999"},                               // unknown
		"300001":   {MemberNumber: "300001", Found: true, HasEmail: false}, // no email
	} {
		for n := 0; n < 2; n++ {
			if got := mustRun[activities.MemberLookup](f, f.acts.LookupResyncMember, number); got != want {
				t.Errorf("%q run %d: %+v, want %+v", number, n+1, got, want)
			}
		}
	}
}

func TestLookupResyncMemberDatabaseDownIsRetryable(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	dead, err := members.Open("members_ro:members_ro@tcp(127.0.0.1:1)/members")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	f.acts.Members = dead
	_, err = run[activities.MemberLookup](f, f.acts.LookupResyncMember, "100001")
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func (f *fixture) prepare(number string) activities.ResyncPlan {
	f.t.Helper()
	return mustRun[activities.ResyncPlan](f, f.acts.PrepareResyncContact, activities.ResyncContactRequest{MemberNumber: number})
}

// No contact has the email: a user is created with the member data; the
// second run finds it and writes nothing.
func TestPrepareResyncContactCreatesUser(t *testing.T) {
	// Search sees writes at once here; TestPrepareResyncContactSearchLag
	// runs the plan against a search that lags.
	f, hook := newResyncFixture(t, emulator.Options{Loose: emulator.Loose{NoSearchLag: true}})
	plan := f.prepare("100001")
	if plan.Outcome != activities.ResyncReady || plan.How != activities.ContactCreated || !plan.FieldsWritten ||
		len(plan.MergeLeads)+len(plan.ArchiveUsers) != 0 {
		t.Fatalf("plan %+v", plan)
	}
	live := f.liveByEmail(ada)
	if len(live) != 1 || live[0].ID != plan.ContactID {
		t.Fatalf("contacts %+v", live)
	}
	assertMemberData(t, live[0])

	writes := f.writes()
	again := f.prepare("100001")
	if again.ContactID != plan.ContactID || again.How != activities.ContactExisting || again.FieldsWritten || f.writes() != writes {
		t.Fatalf("second run: %+v, %d writes", again, f.writes()-writes)
	}
	noEmails(t, hook)
}

// A lead has the email: it becomes the user (same id), with the member
// data.
func TestPrepareResyncContactConvertsLead(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{Loose: emulator.Loose{NoSearchLag: true}})
	lead := f.contact(emulator.Contact{Role: "lead", Email: "Ada.Lovelace@Example.com", Name: "Ada"})
	plan := f.prepare("100001")
	if plan.ContactID != lead || plan.How != activities.ContactConverted || !plan.FieldsWritten || len(plan.MergeLeads) != 0 {
		t.Fatalf("plan %+v", plan)
	}
	c := f.stored(lead)
	assertMemberData(t, c)
	if c.Email != "Ada.Lovelace@Example.com" || c.Name != "Ada" {
		t.Fatalf("the lead's own fields changed: %+v", c)
	}
	writes := f.writes()
	if again := f.prepare("100001"); again.ContactID != lead || again.How != activities.ContactExisting || f.writes() != writes {
		t.Fatalf("second run: %+v, %d writes", again, f.writes()-writes)
	}
}

// A user has the email: it is the survivor; preparing writes nothing (the
// update is its own step).
func TestPrepareResyncContactFindsUser(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	user := f.contact(emulator.Contact{Role: "user", Email: ada, ExternalID: "user_ada"})
	for n := 0; n < 2; n++ {
		plan := f.prepare("100001")
		if plan.ContactID != user || plan.How != activities.ContactExisting || plan.FieldsWritten ||
			len(plan.MergeLeads)+len(plan.ArchiveUsers) != 0 {
			t.Fatalf("run %d: plan %+v", n+1, plan)
		}
	}
	if f.writes() != 0 {
		t.Fatalf("%d writes", f.writes())
	}
}

// Two leads, an older duplicate user and a newer user: the newer user
// survives, the leads are to be merged, the older user archived. A lead
// standing for a pending invitation is InviteContact's and left alone.
func TestPrepareResyncContactPlansTheFold(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	now := time.Now().Unix()
	older, err := f.em.AddContact(emulator.Contact{Role: "user", Email: ada, CreatedAt: now - 9000, UpdatedAt: now - 5000})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := f.em.AddDuplicateUser(emulator.Contact{Email: "ADA.lovelace@example.com", CreatedAt: now - 8000, UpdatedAt: now - 60})
	if err != nil {
		t.Fatal(err)
	}
	l1 := f.contact(emulator.Contact{Role: "lead", Email: ada})
	l2 := f.contact(emulator.Contact{Role: "lead", Email: ada})
	invited := f.contact(emulator.Contact{Role: "lead", Email: ada, ExternalID: activities.InvitedExternalID("orginv_1")})
	for n := 0; n < 2; n++ {
		plan := f.prepare("100001")
		slices.Sort(plan.MergeLeads)
		want := []string{l1, l2}
		slices.Sort(want)
		if plan.ContactID != newer.ID || plan.How != activities.ContactExisting || plan.FieldsWritten ||
			!slices.Equal(plan.MergeLeads, want) || !slices.Equal(plan.ArchiveUsers, []string{older.ID}) {
			t.Fatalf("run %d: plan %+v; want survivor %s, leads %v, archive %s", n+1, plan, newer.ID, want, older.ID)
		}
		if slices.Contains(plan.MergeLeads, invited) {
			t.Fatal("the invitation's lead is to be merged")
		}
	}
	if f.writes() != 0 {
		t.Fatalf("%d writes", f.writes())
	}
}

// A user with an external_id is addressed by another sync (Clerk's): it
// survives even when a user without one was updated more recently.
func TestPrepareResyncContactPrefersExternalID(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	now := time.Now().Unix()
	clerkUser, err := f.em.AddContact(emulator.Contact{Role: "user", Email: ada, ExternalID: "user_2rA7", UpdatedAt: now - 5000})
	if err != nil {
		t.Fatal(err)
	}
	recent, err := f.em.AddDuplicateUser(emulator.Contact{Email: ada, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	plan := f.prepare("100001")
	if plan.ContactID != clerkUser.ID || !slices.Equal(plan.ArchiveUsers, []string{recent.ID}) {
		t.Fatalf("plan %+v, want survivor %s", plan, clerkUser.ID)
	}
}

// Search lags behind writes: the user made a moment ago is not found, so
// the create answers 409 naming it, and that user gets the data.
func TestPrepareResyncContactSearchLag(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{SearchIndexDelay: time.Hour})
	// Made through the API, so search lags it (seeded contacts are indexed).
	made, err := f.acts.Intercom.CreateContact(context.Background(), intercom.Fields{"role": "user", "email": ada})
	if err != nil {
		t.Fatal(err)
	}
	user := made.ID
	for n := 0; n < 2; n++ {
		plan := f.prepare("100001")
		if plan.ContactID != user || plan.How != activities.ContactExisting || !plan.FieldsWritten {
			t.Fatalf("run %d: plan %+v", n+1, plan)
		}
	}
	assertMemberData(t, f.stored(user))
	if n := len(f.liveByEmail(ada)); n != 1 {
		t.Fatalf("%d contacts", n)
	}
	// A lead search shows is to become the user, but a user search does
	// not show yet has the email: converting answers 409 naming that user,
	// which gets the data; the lead is left to merge into it.
	var mu sync.Mutex
	clock := time.Now().Add(-2 * time.Hour)
	f2, _ := newResyncFixture(t, emulator.Options{SearchIndexDelay: time.Hour, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}})
	lead := f2.contact(emulator.Contact{Role: "lead", Email: ada})
	mu.Lock()
	clock = clock.Add(90 * time.Minute) // the lead is indexed by now
	mu.Unlock()
	madeHidden, err := f2.acts.Intercom.CreateContact(context.Background(), intercom.Fields{"role": "user", "email": ada})
	if err != nil {
		t.Fatal(err)
	}
	hidden := madeHidden.ID
	plan := f2.prepare("100001")
	if plan.ContactID != hidden || plan.How != activities.ContactExisting || !plan.FieldsWritten ||
		!slices.Equal(plan.MergeLeads, []string{lead}) {
		t.Fatalf("plan %+v, want the hidden user %s and lead %s to merge", plan, hidden, lead)
	}
	assertMemberData(t, f2.stored(hidden))
	if c := f2.stored(lead); c.Role != "lead" {
		t.Fatalf("the lead became a second user: %+v", c)
	}
}

// The member's only user is archived (search does not show it): it is
// unarchived and becomes the contact, not duplicated.
func TestPrepareResyncContactUnarchives(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	user := f.contact(emulator.Contact{Role: "user", Email: ada, Archived: true})
	plan := f.prepare("100001")
	if plan.ContactID != user || !plan.FieldsWritten {
		t.Fatalf("plan %+v", plan)
	}
	c := f.stored(user)
	if c.Archived {
		t.Fatal("still archived")
	}
	assertMemberData(t, c)
	if n := len(f.em.Snapshot().Contacts); n != 1 {
		t.Fatalf("%d contacts", n)
	}
}

func TestPrepareResyncContactMemberGone(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	f.acts.Members = memberOverride{f.acts.Members, map[string]members.Member{"300001": {Number: "300001", Status: "Active"}}}
	if plan := f.prepare("999999"); plan.Outcome != activities.ResyncMemberNotFound || plan.ContactID != "" {
		t.Fatalf("unknown member: %+v", plan)
	}
	if plan := f.prepare("300001"); plan.Outcome != activities.ResyncMemberNoEmail {
		t.Fatalf("member without email: %+v", plan)
	}
	if n := f.em.Snapshot().Counters.Requests; n != 0 {
		t.Fatalf("%d Intercom calls", n)
	}
}

func TestMergeLeadIntoUserTwice(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	user := f.contact(emulator.Contact{Role: "user", Email: ada})
	lead := f.contact(emulator.Contact{Role: "lead", Email: ada, Phone: "+13125550100"})
	req := activities.MergeRequest{From: lead, Into: user}
	if got := mustRun[activities.StepOutcome](f, f.acts.MergeLeadIntoUser, req); got != activities.MergedLead {
		t.Fatalf("first run: %s", got)
	}
	// The answer was lost, say: the retry finds the lead merged.
	if got := mustRun[activities.StepOutcome](f, f.acts.MergeLeadIntoUser, req); got != activities.AlreadyDone {
		t.Fatalf("second run: %s", got)
	}
	if n := f.calls("POST /contacts/merge"); n != 2 {
		t.Fatalf("%d merges", n)
	}
	if live := f.liveByEmail(ada); len(live) != 1 || live[0].ID != user {
		t.Fatalf("contacts %+v", live)
	}

	// The user is gone: no retry can help.
	other := f.contact(emulator.Contact{Role: "lead", Email: ada})
	_, err := run[string](f, f.acts.MergeLeadIntoUser, activities.MergeRequest{From: other, Into: "5f0000000000000000000000"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != activities.ErrTypeVanished {
		t.Fatalf("err = %v, want non-retryable %s", err, activities.ErrTypeVanished)
	}
}

// Archiving twice is harmless: Intercom answers the second archive 404
// (an archived contact is gone to every call by id but unarchive), which
// is AlreadyDone; a workspace that lets it through archives it again.
func TestArchiveDuplicateUserTwice(t *testing.T) {
	for _, loose := range []bool{false, true} {
		f, _ := newResyncFixture(t, emulator.Options{Loose: emulator.Loose{ArchivedWritable: loose}})
		user := f.contact(emulator.Contact{Role: "user", Email: ada})
		second := activities.AlreadyDone
		if loose {
			second = activities.ArchivedUser
		}
		for n, want := range []activities.StepOutcome{activities.ArchivedUser, second} {
			if got := mustRun[activities.StepOutcome](f, f.acts.ArchiveDuplicateUser, user); got != want {
				t.Fatalf("archived writable %v, run %d: %s, want %s", loose, n+1, got, want)
			}
		}
		if !f.stored(user).Archived {
			t.Fatal("not archived")
		}
	}
	f, _ := newResyncFixture(t, emulator.Options{})
	if got := mustRun[activities.StepOutcome](f, f.acts.ArchiveDuplicateUser, "5f0000000000000000000000"); got != activities.AlreadyDone {
		t.Fatalf("missing contact: %s", got)
	}
}

func TestUpdateResyncContactTwice(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	user := f.contact(emulator.Contact{Role: "user", Email: ada, CustomAttributes: map[string]any{"member_number": "1"}})
	req := activities.ResyncContactRequest{MemberNumber: "100001", ContactID: user}
	for n := 0; n < 2; n++ {
		if got := mustRun[activities.ResyncOutcome](f, f.acts.UpdateResyncContact, req); got != activities.ResyncReady {
			t.Fatalf("run %d: %s", n+1, got)
		}
		assertMemberData(t, f.stored(user))
	}
	// Retired: RNAV.
	alan := f.contact(emulator.Contact{Role: "user", Email: "alan.turing@example.com"})
	mustRun[activities.ResyncOutcome](f, f.acts.UpdateResyncContact, activities.ResyncContactRequest{MemberNumber: "100003", ContactID: alan})
	if c := f.stored(alan).CustomAttributes; c["region"] != activities.RNAV || c["member_type"] != "Retired" {
		t.Fatalf("retired member: %v", c)
	}

	_, err := run[string](f, f.acts.UpdateResyncContact,
		activities.ResyncContactRequest{MemberNumber: "100001", ContactID: "5f0000000000000000000000"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Fatalf("vanished contact: err = %v, want non-retryable", err)
	}
	if got := mustRun[activities.ResyncOutcome](f, f.acts.UpdateResyncContact,
		activities.ResyncContactRequest{MemberNumber: "999999", ContactID: user}); got != activities.ResyncMemberNotFound {
		t.Fatalf("unknown member: %s", got)
	}
}

// tagged seeds a conversation carrying the re-sync tag.
func (f *fixture) tagged() (emulator.Conversation, emulator.Tag) {
	f.t.Helper()
	tag := f.em.AddTag("mynatca-sync")
	other := f.em.AddTag("vip")
	convs, err := f.em.SeedConversation(emulator.Conversation{TagIDs: []string{other.ID, tag.ID}})
	if err != nil {
		f.t.Fatal(err)
	}
	return convs[0], tag
}

func (f *fixture) conversationTags(id string) []string {
	for _, c := range f.em.Snapshot().Conversations {
		if c.ID == id {
			return c.TagIDs
		}
	}
	f.t.Fatalf("conversation %s not in the emulator", id)
	return nil
}

const untagEndpoint = "DELETE /conversations/{conversation_id}/tags/{tag_id}"

func TestRemoveConversationTagTwice(t *testing.T) {
	f, hook := newResyncFixture(t, emulator.Options{})
	conv, tag := f.tagged()
	req := activities.UntagRequest{ConversationID: conv.ID, TagID: tag.ID, TagName: tag.Name}
	if got := mustRun[activities.StepOutcome](f, f.acts.RemoveConversationTag, req); got != activities.TagRemoved {
		t.Fatalf("first run: %s", got)
	}
	if tags := f.conversationTags(conv.ID); len(tags) != 1 || tags[0] == tag.ID {
		t.Fatalf("tags %v: want only the other tag", tags)
	}
	// 404 tag_not_found counts as done.
	if got := mustRun[activities.StepOutcome](f, f.acts.RemoveConversationTag, req); got != activities.AlreadyDone {
		t.Fatalf("second run: %s", got)
	}
	// The admin came from GET /me, once per process.
	if n := f.calls("GET /me"); n != 1 {
		t.Fatalf("GET /me %d times", n)
	}
	if e := hook.LastEntry(); e == nil || e.Message != "Tag already removed from conversation" || e.Data["conversation_id"] != conv.ID {
		t.Fatalf("last log %+v", e)
	}
	// A conversation that is gone: done too.
	if got := mustRun[activities.StepOutcome](f, f.acts.RemoveConversationTag,
		activities.UntagRequest{ConversationID: "999", TagID: tag.ID, TagName: tag.Name}); got != activities.AlreadyDone {
		t.Fatalf("missing conversation: %s", got)
	}
}

// The notification named the tag only: it is found on the conversation
// by name; when it is no longer there, nothing is deleted.
func TestRemoveConversationTagByName(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	f.acts.AdminID = emulator.AdminID
	conv, tag := f.tagged()
	req := activities.UntagRequest{ConversationID: conv.ID, TagName: "MyNATCA-Sync"}
	if got := mustRun[activities.StepOutcome](f, f.acts.RemoveConversationTag, req); got != activities.TagRemoved {
		t.Fatalf("first run: %s", got)
	}
	if got := mustRun[activities.StepOutcome](f, f.acts.RemoveConversationTag, req); got != activities.AlreadyDone {
		t.Fatalf("second run: %s", got)
	}
	if n := f.calls(untagEndpoint); n != 1 {
		t.Fatalf("%d DELETEs, want 1", n)
	}
	if slices.Contains(f.conversationTags(conv.ID), tag.ID) {
		t.Fatal("tag still on")
	}
	if n := f.calls("GET /me"); n != 0 {
		t.Fatalf("GET /me called %d times although INTERCOM_ADMIN_ID is set", n)
	}
}

// A wrong INTERCOM_ADMIN_ID is a configuration error, not "tag gone": it
// fails for good and the tag stays.
func TestRemoveConversationTagWrongAdmin(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	f.acts.AdminID = "123"
	conv, tag := f.tagged()
	_, err := run[string](f, f.acts.RemoveConversationTag,
		activities.UntagRequest{ConversationID: conv.ID, TagID: tag.ID, TagName: tag.Name})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != activities.ErrTypeBadConfig ||
		!strings.Contains(err.Error(), "INTERCOM_ADMIN_ID") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Contains(f.conversationTags(conv.ID), tag.ID) {
		t.Fatal("the tag was removed")
	}
}

// Archiving hides a contact's conversations, and cuts the link of a sync
// that addresses a contact by its external_id. So of the member's
// duplicate users, the plan archives only those that are neither: not the
// contact of the tagged conversation, not one with an external_id (this
// service's users and invited users, or another system's).
func TestPrepareResyncContactSparesConversationOwnersAndExternalIDs(t *testing.T) {
	f, _ := newResyncFixture(t, emulator.Options{})
	now := time.Now().Unix()
	dup := func(c emulator.Contact) string {
		t.Helper()
		c.Role, c.Email = "user", ada
		got, err := f.em.AddDuplicateUser(c)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	survivor := dup(emulator.Contact{ExternalID: "user_ada", UpdatedAt: now - 10})
	owner := dup(emulator.Contact{UpdatedAt: now - 20})
	otherSystem := dup(emulator.Contact{ExternalID: "crm_77", UpdatedAt: now - 30})
	invited := dup(emulator.Contact{ExternalID: activities.InvitedExternalID("orginv_9"), UpdatedAt: now - 5})
	stray := dup(emulator.Contact{UpdatedAt: now - 40})
	convs, err := f.em.SeedConversation(emulator.Conversation{Contacts: []emulator.ContactRef{{ID: owner}}})
	if err != nil {
		t.Fatal(err)
	}
	plan := mustRun[activities.ResyncPlan](f, f.acts.PrepareResyncContact,
		activities.ResyncContactRequest{MemberNumber: "100001", ConversationID: convs[0].ID})
	if plan.ContactID != survivor {
		t.Fatalf("survivor %s, want the user with the service's external_id %s (not the invited user %s)", plan.ContactID, survivor, invited)
	}
	if !slices.Equal(plan.ArchiveUsers, []string{stray}) {
		t.Fatalf("archive %v, want only %s (spared: owner %s, external ids %s %s)", plan.ArchiveUsers, stray, owner, otherSystem, invited)
	}
}
