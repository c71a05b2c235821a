package activities_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/positions"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// testTypeMap gives one membertypeid its own label, so tests see that
// member_type depends on both status and membertypeid.
const testTypeMap = "Active:3=Associate,Active:*=Member,Retired:*=Retired"

// newEnrichFixture is newFixture plus the member database (the demo data
// of deploy/local/members.sql, in a fresh MariaDB database, plus the rows
// below) and positions in the app Postgres.
func newEnrichFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, emulator.Options{})
	dsn, db := testenv.Members(t)
	// The phone formats exactly as the issue lists them.
	if _, err := db.Exec(`INSERT INTO members
		(membernumber, firstname, lastname, email, phone, region, facility, status, membertypeid) VALUES
		('200001', 'Paren', 'Theses', 'parens@example.com', '(765) 465-7031',  'R5', 'F501', 'Active', 1),
		('200002', 'Dot',   'Ted',    'dots@example.com',   '765.465.7031',    'R5', 'F501', 'Active', 1),
		('200003', 'Plus',  'One',    'plus@example.com',   '+1 765 465 7031', 'R5', 'F501', 'Active', 1)`); err != nil {
		t.Fatal(err)
	}
	dir, err := members.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	f.acts.Members = dir

	ctx := context.Background()
	url := testenv.PostgresURL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// A separate positions database, as with POSITIONS_DATABASE_URL set.
	if _, err := conn.Exec(ctx, `CREATE TABLE member_positions (membernumber text NOT NULL, position text NOT NULL);
		INSERT INTO member_positions VALUES
			('100001', 'Facility President'), ('100001', 'Area Representative'),
			('100003', 'Retiree Liaison')`); err != nil {
		t.Fatal(err)
	}
	ps, err := positions.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Close)
	f.acts.Positions = ps
	f.acts.MemberTypes = members.MustParseTypeMap(testTypeMap)
	return f
}

func (f *fixture) contact(c emulator.Contact) string {
	f.t.Helper()
	stored, err := f.em.AddContact(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return stored.ID
}

func (f *fixture) enrich(contactID string) (activities.EnrichResult, error) {
	v, err := f.env.ExecuteActivity(f.acts.EnrichContact, contactID)
	if err != nil {
		return activities.EnrichResult{}, err
	}
	var res activities.EnrichResult
	return res, v.Get(&res)
}

func (f *fixture) mustEnrich(contactID string, wantOutcome activities.EnrichOutcome) activities.EnrichResult {
	f.t.Helper()
	res, err := f.enrich(contactID)
	if err != nil {
		f.t.Fatalf("enrich %s: %v", contactID, err)
	}
	if res.Outcome != wantOutcome || res.ContactID != contactID {
		f.t.Fatalf("enrich %s: %+v, want outcome %s", contactID, res, wantOutcome)
	}
	return res
}

func (f *fixture) stored(id string) emulator.Contact {
	f.t.Helper()
	for _, c := range f.em.Snapshot().Contacts {
		if c.ID == id {
			return c
		}
	}
	f.t.Fatalf("contact %s not in the emulator", id)
	return emulator.Contact{}
}

func (f *fixture) contactPuts() int64 {
	return f.em.Snapshot().Counters.ByEndpoint["PUT /contacts/{contact_id}"]
}

func TestEnrichContactTwice(t *testing.T) {
	f := newEnrichFixture(t)
	id := f.contact(emulator.Contact{Role: "lead", Email: "Ada.Lovelace@Example.com", Name: "Ada"})

	res := f.mustEnrich(id, activities.EnrichEnriched)
	if res.MemberNumber != "100001" {
		t.Fatalf("member number %q", res.MemberNumber)
	}
	c := f.stored(id)
	want := map[string]any{
		"member_number": "100001", "member_type": "Member", "region": "R1", "facility": "F101",
		"positions": "Area Representative, Facility President", "member_verified": false,
	}
	for k, v := range want {
		if c.CustomAttributes[k] != v {
			t.Errorf("custom_attributes.%s = %#v, want %#v", k, c.CustomAttributes[k], v)
		}
	}
	// A lead: its email was typed by a visitor, so no phone (see
	// TestEnrichLeadIsUnverified).
	if c.Phone != "" {
		t.Errorf("phone = %q, want none on a lead", c.Phone)
	}
	if c.Email != "Ada.Lovelace@Example.com" || c.Name != "Ada" || c.Role != "lead" {
		t.Errorf("fields the enrichment does not own changed: %+v", c)
	}
	// The attributes exist as custom data attributes of contacts.
	have := map[string]bool{}
	for _, a := range f.em.Snapshot().DataAttributes {
		if a.Custom && a.Model == "contact" {
			have[a.Name] = true
		}
	}
	for k := range want {
		if !have[k] {
			t.Errorf("data attribute %s was not created", k)
		}
	}

	// The second run finds the member number and writes nothing.
	writes, puts := f.writes(), f.contactPuts()
	res = f.mustEnrich(id, activities.EnrichAlreadyEnriched)
	if res.MemberNumber != "100001" || f.writes() != writes || f.contactPuts() != puts {
		t.Fatalf("second run: %+v, %d new writes", res, f.writes()-writes)
	}
}

func TestEnrichRetiredMemberIsRNAV(t *testing.T) {
	f := newEnrichFixture(t)
	id := f.contact(emulator.Contact{Role: "user", Email: "alan.turing@example.com"})
	f.mustEnrich(id, activities.EnrichEnriched)
	c := f.stored(id).CustomAttributes
	if c["region"] != activities.RNAV || c["facility"] != activities.RNAV || c["member_type"] != "Retired" ||
		c["member_number"] != "100003" || c["positions"] != "Retiree Liaison" {
		t.Fatalf("custom attributes %v", c)
	}
	f.mustEnrich(id, activities.EnrichAlreadyEnriched)
}

func TestEnrichMemberTypeFollowsTypeID(t *testing.T) {
	f := newEnrichFixture(t)
	hamilton := f.contact(emulator.Contact{Role: "user", Email: "margaret.hamilton@example.com"}) // Active, type 3
	hopper := f.contact(emulator.Contact{Role: "user", Email: "grace.hopper@example.com"})        // Active, type 1
	f.mustEnrich(hamilton, activities.EnrichEnriched)
	f.mustEnrich(hopper, activities.EnrichEnriched)
	if got := f.stored(hamilton).CustomAttributes["member_type"]; got != "Associate" {
		t.Errorf("type 3: member_type %v", got)
	}
	got := f.stored(hopper).CustomAttributes
	if got["member_type"] != "Member" || got["positions"] != "" {
		t.Errorf("type 1, no positions: %v", got)
	}
}

// Several members share the email: the Active one wins over an Inactive
// older record.
func TestEnrichSeveralMatchesPrefersActive(t *testing.T) {
	f := newEnrichFixture(t)
	id := f.contact(emulator.Contact{Role: "user", Email: "ken@example.com"})
	if res := f.mustEnrich(id, activities.EnrichEnriched); res.MemberNumber != "100008" {
		t.Fatalf("member %s, want the Active 100008", res.MemberNumber)
	}
	if c := f.stored(id); c.CustomAttributes["facility"] != "F103" || c.Phone != "+17654657038" {
		t.Fatalf("contact %+v", c)
	}
}

func TestEnrichPhoneFormats(t *testing.T) {
	f := newEnrichFixture(t)
	for email, want := range map[string]string{
		"parens@example.com": "+17654657031", // (765) 465-7031
		"dots@example.com":   "+17654657031", // 765.465.7031
		"plus@example.com":   "+17654657031", // +1 765 465 7031
	} {
		id := f.contact(emulator.Contact{Role: "user", Email: email})
		f.mustEnrich(id, activities.EnrichEnriched)
		if got := f.stored(id).Phone; got != want {
			t.Errorf("%s: phone %q, want %q", email, got, want)
		}
	}
	// "call me maybe": the member data is written, the phone left out, so
	// the contact keeps the one it had.
	id := f.contact(emulator.Contact{Role: "user", Email: "donald.knuth@example.com", Phone: "+13125550100"})
	f.mustEnrich(id, activities.EnrichEnriched)
	if c := f.stored(id); c.Phone != "+13125550100" || c.CustomAttributes["member_number"] != "100006" {
		t.Fatalf("garbage phone: %+v", c)
	}
	// No phone at all (NULL).
	id = f.contact(emulator.Contact{Role: "user", Email: "frances.allen@example.com"})
	f.mustEnrich(id, activities.EnrichEnriched)
	if c := f.stored(id); c.Phone != "" || c.CustomAttributes["member_number"] != "100009" {
		t.Fatalf("NULL phone: %+v", c)
	}
}

// Every stop writes nothing to Intercom, on the first run and the second.
func TestEnrichStops(t *testing.T) {
	f := newEnrichFixture(t)
	cases := []struct {
		name    string
		contact emulator.Contact
		outcome activities.EnrichOutcome
	}{
		// Leads: they may share an email, users may not.
		{"already enriched", emulator.Contact{Role: "lead", Email: "ada.lovelace@example.com",
			CustomAttributes: map[string]any{"member_number": "999"}}, activities.EnrichAlreadyEnriched},
		{"numeric member number", emulator.Contact{Role: "lead", Email: "ada.lovelace@example.com",
			CustomAttributes: map[string]any{"member_number": 999}}, activities.EnrichAlreadyEnriched},
		{"no email", emulator.Contact{Role: "lead", Name: "Anonymous"}, activities.EnrichNoEmail},
		{"not found", emulator.Contact{Role: "user", Email: "stranger@example.com"}, activities.EnrichNotFound},
		{"inactive member is not a member", emulator.Contact{Role: "user", Email: "barbara.liskov@example.com"}, activities.EnrichNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := f.contact(tc.contact)
			writes := f.writes()
			for run := 1; run <= 2; run++ {
				f.mustEnrich(id, tc.outcome)
			}
			if f.writes() != writes {
				t.Fatalf("%d writes", f.writes()-writes)
			}
		})
	}
	// A blank member_number is not a member number.
	id := f.contact(emulator.Contact{Role: "user", Email: "ada.lovelace@example.com",
		CustomAttributes: map[string]any{"member_number": " "}})
	f.mustEnrich(id, activities.EnrichEnriched)

	// A contact merged away or deleted since the message.
	writes := f.writes()
	f.mustEnrich("5f0000000000000000000000", activities.EnrichContactGone)
	if f.writes() != writes {
		t.Fatal("a missing contact caused writes")
	}
}

// A member or positions database that is down is a retryable failure,
// with nothing written to Intercom.
func TestEnrichDatabaseDownIsRetryable(t *testing.T) {
	f := newEnrichFixture(t)
	id := f.contact(emulator.Contact{Role: "user", Email: "ada.lovelace@example.com"})

	dead, err := members.Open("members_ro:members_ro@tcp(127.0.0.1:1)/members")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	working := f.acts.Members
	f.acts.Members = dead
	assertRetryable(t, f, id)

	f.acts.Members = working
	deadPositions, err := positions.Open(context.Background(), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer deadPositions.Close()
	f.acts.Positions = deadPositions
	assertRetryable(t, f, id)

	if c := f.stored(id); c.CustomAttributes["member_number"] != nil || f.contactPuts() != 0 {
		t.Fatalf("contact written while a database was down: %+v", c)
	}
}

func assertRetryable(t *testing.T, f *fixture, id string) {
	t.Helper()
	_, err := f.enrich(id)
	if err == nil {
		t.Fatal("no error")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Fatalf("err = %v is non-retryable", err)
	}
}

func TestClaimNotificationTwice(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	claim := func(n activities.Notification) bool {
		t.Helper()
		v, err := f.env.ExecuteActivity(f.acts.ClaimNotification, n)
		if err != nil {
			t.Fatal(err)
		}
		var first bool
		if err := v.Get(&first); err != nil {
			t.Fatal(err)
		}
		return first
	}
	n := activities.Notification{ID: "notif_1", Topic: "conversation.user.created", ContactID: "c1", RunID: "run-1"}
	// Each claim runs the activity once more: twice per run on purpose.
	if first, again := claim(n), claim(n); !first || !again {
		t.Fatal("the claiming run lost its claim on the second run")
	}
	other := n
	other.RunID = "run-2"
	if first, again := claim(other), claim(other); first || again {
		t.Fatal("a redelivery (another run) was not recognised")
	}
}

// A lead whose email matches a member gets the member fields, never the
// phone, and member_verified false; a user gets the phone and
// member_verified true. Each run twice: the second changes nothing.
func TestEnrichLeadIsUnverified(t *testing.T) {
	f := newEnrichFixture(t)
	member := map[string]any{"member_number": "100001", "member_type": "Member", "region": "R1", "facility": "F101",
		"positions": "Area Representative, Facility President"}
	for _, c := range []struct {
		name     string
		contact  emulator.Contact
		phone    string
		verified bool
	}{
		{"lead", emulator.Contact{Role: "lead", Email: "ada.lovelace@example.com"}, "", false},
		// The phone the visitor gave stays; the member's is not written.
		{"lead with its own phone", emulator.Contact{Role: "lead", Email: "ada.lovelace@example.com", Phone: "+13125550100"}, "+13125550100", false},
		{"user", emulator.Contact{Role: "user", Email: "ada.lovelace@example.com", ExternalID: "user_ada"}, "+17654657031", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := f.contact(c.contact)
			f.mustEnrich(id, activities.EnrichEnriched)
			writes := f.writes()
			f.mustEnrich(id, activities.EnrichAlreadyEnriched)
			if f.writes() != writes {
				t.Fatalf("second run wrote %d times", f.writes()-writes)
			}
			got := f.stored(id)
			for k, v := range member {
				if got.CustomAttributes[k] != v {
					t.Errorf("custom_attributes.%s = %#v, want %#v", k, got.CustomAttributes[k], v)
				}
			}
			if v, ok := got.CustomAttributes["member_verified"].(bool); !ok || v != c.verified {
				t.Errorf("member_verified = %#v, want %v", got.CustomAttributes["member_verified"], c.verified)
			}
			if got.Phone != c.phone {
				t.Errorf("phone = %q, want %q", got.Phone, c.phone)
			}
		})
	}
	// member_verified is a boolean custom attribute of contacts.
	for _, a := range f.em.Snapshot().DataAttributes {
		if a.Custom && a.Model == "contact" && a.Name == "member_verified" {
			if a.DataType != "boolean" {
				t.Fatalf("member_verified is %s, want boolean", a.DataType)
			}
			return
		}
	}
	t.Fatal("data attribute member_verified was not created")
}
