package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

const (
	intercomWebhookSecret = "e2e-intercom-client-secret"
	lookupToken           = "e2e-lookup-token"
)

// conversationNotification is an Intercom notification_event as Intercom
// sends it for a conversation a contact wrote in (API 2.x item).
func conversationNotification(notificationID, topic, contactID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "notification_event", "app_id": "e2e", "id": notificationID, "topic": topic,
		"delivery_status": "pending", "delivery_attempts": 1, "delivered_at": 0,
		"first_sent_at": time.Now().Unix(), "created_at": time.Now().Unix(), "links": map[string]any{}, "self": nil,
		"data": map[string]any{"type": "notification_event_data", "item": map[string]any{
			"type": "conversation", "id": "conv_" + notificationID, "created_at": time.Now().Unix(),
			"source": map[string]any{"type": "conversation", "id": "src_" + notificationID,
				"author": map[string]any{"type": "user", "id": contactID}},
			"contacts": map[string]any{"type": "contact.list",
				"contacts": []any{map[string]any{"type": "contact", "id": contactID}}},
		}},
	})
	return b
}

// notify posts a notification signed with the app's client secret and
// requires 200 {"received":true}.
func (s *stack) notify(body []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.api.URL+"/api/intercom/webhook", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "intercom-parrot-service-client/1.0")
	req.Header.Set(intercom.SignatureHeader, intercom.Signature([]byte(intercomWebhookSecret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(bytes.TrimSpace(got), []byte(`{"received":true}`)) {
		s.t.Fatalf("notification answered %d %s", resp.StatusCode, got)
	}
}

// enrichResult waits for the contact's latest enrichment run and returns
// its result.
func (s *stack) enrichResult(contactID string) activities.EnrichResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), idle)
	defer cancel()
	var res activities.EnrichResult
	if err := s.temporal.GetWorkflow(ctx, workflows.EnrichWorkflowID(contactID), "").Get(ctx, &res); err != nil {
		s.t.Fatalf("enrichment of %s: %v", contactID, err)
	}
	return res
}

func (s *stack) emulatorContact(id string) emulator.Contact {
	s.t.Helper()
	for _, c := range s.emulator.Snapshot().Contacts {
		if c.ID == id {
			return c
		}
	}
	s.t.Fatalf("contact %s not in the emulator", id)
	return emulator.Contact{}
}

func (s *stack) contactPuts() int64 {
	return s.emulator.Snapshot().Counters.ByEndpoint["PUT /contacts/{contact_id}"]
}

func (s *stack) addPositions(memberNumber string, names ...string) {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, n := range names {
		if _, err := conn.Exec(ctx, `INSERT INTO member_positions (membernumber, position) VALUES ($1, $2)`, memberNumber, n); err != nil {
			s.t.Fatal(err)
		}
	}
}

// A member writes to support: the signed Intercom notification enriches
// their contact from the member database; the same notification
// redelivered writes nothing; a later reply finds the contact enriched.
func TestIntercomWebhookEnrichesContact(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	c, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: "ADA.Lovelace@example.com", Name: "Ada Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	notif := testenv.Name("notif_")
	s.notify(conversationNotification(notif, intercom.TopicConversationUserCreated, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichEnriched || res.MemberNumber != "100001" {
		t.Fatalf("result %+v", res)
	}
	got := s.emulatorContact(c.ID)
	want := map[string]any{"member_number": "100001", "member_type": "Member", "region": "R1", "facility": "F101",
		"positions": "Area Representative, Facility President", "member_verified": true}
	for k, v := range want {
		if got.CustomAttributes[k] != v {
			t.Errorf("custom_attributes.%s = %#v, want %#v", k, got.CustomAttributes[k], v)
		}
	}
	if got.Phone != "+17654657031" {
		t.Errorf("phone %q", got.Phone)
	}

	// Intercom redelivers the same notification: no second Intercom write.
	writes := s.writes()
	s.notify(conversationNotification(notif, intercom.TopicConversationUserCreated, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichDuplicate {
		t.Fatalf("redelivery: %+v, want duplicate", res)
	}
	if s.writes() != writes {
		t.Fatalf("redelivery made %d writes", s.writes()-writes)
	}

	// A new reply: the contact already has its member number.
	s.notify(conversationNotification(testenv.Name("notif_"), intercom.TopicConversationUserReplied, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichAlreadyEnriched {
		t.Fatalf("reply: %+v, want already_enriched", res)
	}
	if s.writes() != writes || s.contactPuts() != 1 {
		t.Fatalf("reply made %d writes (%d contact updates in all)", s.writes()-writes, s.contactPuts())
	}
}

// A retired member who sends a burst of replies is enriched once, with
// RNAV for region and facility.
func TestIntercomReplyBurstEnrichesOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	c, err := s.emulator.AddContact(emulator.Contact{Role: "lead", Email: "alan.turing@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s.notify(conversationNotification(fmt.Sprintf("%s-%d", testenv.Name("notif_"), i),
				intercom.TopicConversationUserReplied, c.ID))
		}(i)
	}
	wg.Wait()
	s.enrichResult(c.ID) // the last run is done (earlier ones ended before it started)
	if n := s.contactPuts(); n != 1 {
		t.Fatalf("%d contact updates for a burst of 5 replies, want 1", n)
	}
	got := s.emulatorContact(c.ID).CustomAttributes
	if got["member_number"] != "100003" || got["region"] != activities.RNAV || got["facility"] != activities.RNAV ||
		got["member_type"] != "Retired" {
		t.Fatalf("custom attributes %v", got)
	}
}

// The lookup API answers from the same databases.
// A Messenger visitor (a lead) types a member's email: the contact gets
// the member fields with member_verified false and not the member's phone.
func TestIntercomWebhookEnrichesLeadUnverified(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	c, err := s.emulator.AddContact(emulator.Contact{Role: "lead", Email: "ada.lovelace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s.notify(conversationNotification(testenv.Name("notif_"), intercom.TopicConversationUserCreated, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichEnriched || res.MemberNumber != "100001" {
		t.Fatalf("result %+v", res)
	}
	got := s.emulatorContact(c.ID)
	if got.CustomAttributes["member_number"] != "100001" || got.CustomAttributes["member_verified"] != false || got.Phone != "" {
		t.Fatalf("lead after enrichment: phone %q, custom attributes %v; want the member fields, member_verified false, no phone",
			got.Phone, got.CustomAttributes)
	}
}

func TestLookupEmailEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100008", "Facility Representative")
	req, _ := http.NewRequest(http.MethodPost, s.api.URL+"/api/intercom/lookup-email",
		bytes.NewReader([]byte(`{"email":"KEN@example.com"}`)))
	req.Header.Set("Authorization", "Bearer "+lookupToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || out["found"] != true || out["member_number"] != "100008" ||
		fmt.Sprint(out["positions"]) != "[Facility Representative]" {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
}

// Dedup is by notification id, whatever the data says: a member added to
// the member database after a first "not found" is not picked up by a
// redelivery of the same notification (it writes nothing), only by the
// contact's next message.
func TestRedeliveredNotificationIsDroppedEvenWhenTheDataChanged(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	c, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: "newcomer@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	notif := testenv.Name("notif_")
	s.notify(conversationNotification(notif, intercom.TopicConversationUserCreated, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichNotFound {
		t.Fatalf("result %+v, want not_found", res)
	}
	if _, err := s.members.Exec(`INSERT INTO members (membernumber, firstname, lastname, email, phone, region, facility, status, membertypeid)
		VALUES ('700001', 'New', 'Comer', 'newcomer@example.com', '765-465-7099', 'R7', 'F701', 'Active', 1)`); err != nil {
		t.Fatal(err)
	}
	writes := s.writes()
	s.notify(conversationNotification(notif, intercom.TopicConversationUserCreated, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichDuplicate || s.writes() != writes {
		t.Fatalf("redelivery: %+v, %d writes", res, s.writes()-writes)
	}
	s.notify(conversationNotification(testenv.Name("notif_"), intercom.TopicConversationUserReplied, c.ID))
	if res := s.enrichResult(c.ID); res.Outcome != activities.EnrichEnriched || res.MemberNumber != "700001" {
		t.Fatalf("next message: %+v", res)
	}
	if got := s.emulatorContact(c.ID); got.Phone != "+17654657099" || got.CustomAttributes["region"] != "R7" {
		t.Fatalf("contact %+v", got)
	}
}
