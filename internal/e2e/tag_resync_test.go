package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/api/serviceerror"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

const (
	adaEmail      = "ada.lovelace@example.com"
	untagEndpoint = "DELETE /conversations/{conversation_id}/tags/{tag_id}"
)

// tagShape is how a conversation_part.tag.created notification names the
// added tag: API 2.x lists it in tags_added (with its id); the payload the
// integration this service replaced read carries a conversation part of
// type tag.
type tagShape int

const (
	tagsAdded tagShape = iota
	tagPart
)

// tagNotification is a signed-ready conversation_part.tag.created
// notification. attrs nil leaves custom_attributes out of the payload.
func tagNotification(notificationID, conversationID string, shape tagShape, tag emulator.Tag, attrs map[string]any) []byte {
	item := map[string]any{
		"type": "conversation", "id": conversationID, "created_at": time.Now().Unix(),
		"conversation_parts": map[string]any{"type": "conversation_part.list", "conversation_parts": []any{}},
	}
	if shape == tagsAdded {
		item["tags_added"] = map[string]any{"type": "tag.list",
			"tags": []any{map[string]any{"type": "tag", "id": tag.ID, "name": tag.Name}}}
	} else {
		item["conversation_parts"] = map[string]any{"type": "conversation_part.list", "conversation_parts": []any{
			map[string]any{"type": "conversation_part", "id": "987654321", "part_type": "tag", "body": tag.Name,
				"created_at": time.Now().Unix(), "author": map[string]any{"type": "admin", "id": emulator.AdminID}},
		}}
	}
	if attrs != nil {
		item["custom_attributes"] = attrs
	}
	b, _ := json.Marshal(map[string]any{
		"type": "notification_event", "app_id": "e2e", "id": notificationID, "topic": intercom.TopicConversationPartTagCreated,
		"delivery_status": "pending", "delivery_attempts": 1, "created_at": time.Now().Unix(), "links": map[string]any{},
		"data": map[string]any{"type": "notification_event_data", "item": item},
	})
	return b
}

// conversationSeq makes conversation ids unique across stacks and runs:
// the workflow ID (tag-resync/<conversation id>) lives in the shared
// Temporal server, while each emulator would number from the same start.
var conversationSeq atomic.Int64

func uniqueConversationID() string {
	return strconv.FormatInt(time.Now().UnixMicro()*100+conversationSeq.Add(1)%100, 10)
}

// taggedConversation seeds a conversation of contactIDs carrying the
// re-sync tag (and another tag), with attrs as its custom attributes.
func (s *stack) taggedConversation(attrs map[string]any, contactIDs ...string) (emulator.Conversation, emulator.Tag) {
	s.t.Helper()
	tag := s.emulator.AddTag(workflows.DefaultResyncTag)
	other := s.emulator.AddTag("billing")
	cv := emulator.Conversation{ID: uniqueConversationID(), TagIDs: []string{other.ID, tag.ID}, CustomAttributes: attrs}
	for _, id := range contactIDs {
		cv.Contacts = append(cv.Contacts, emulator.ContactRef{ID: id})
	}
	convs, err := s.emulator.SeedConversation(cv)
	if err != nil {
		s.t.Fatal(err)
	}
	return convs[0], tag
}

func (s *stack) conversationTags(id string) []string {
	s.t.Helper()
	for _, c := range s.emulator.Snapshot().Conversations {
		if c.ID == id {
			return c.TagIDs
		}
	}
	s.t.Fatalf("conversation %s not in the emulator", id)
	return nil
}

// resync waits for the conversation's latest TagResync run and returns its
// result, or its failure.
func (s *stack) resync(conversationID string) (workflows.TagResyncResult, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), idle)
	defer cancel()
	var res workflows.TagResyncResult
	err := s.temporal.GetWorkflow(ctx, workflows.TagResyncWorkflowID(conversationID), "").Get(ctx, &res)
	return res, err
}

func (s *stack) mustResync(conversationID string, outcome activities.ResyncOutcome) workflows.TagResyncResult {
	s.t.Helper()
	res, err := s.resync(conversationID)
	if err != nil {
		s.t.Fatalf("re-sync of conversation %s: %v", conversationID, err)
	}
	if res.Outcome != outcome {
		s.t.Fatalf("re-sync of conversation %s: %+v, want outcome %s", conversationID, res, outcome)
	}
	return res
}

// liveByEmail lists the email's contacts that are neither archived nor
// merged away.
func (s *stack) liveByEmail(email string) []emulator.Contact {
	var out []emulator.Contact
	for _, c := range s.emulator.Snapshot().Contacts {
		if strings.EqualFold(c.Email, email) && !c.Archived && c.MergedInto == "" {
			out = append(out, c)
		}
	}
	return out
}

func (s *stack) calls(endpoint string) int64 {
	return s.emulator.Snapshot().Counters.ByEndpoint[endpoint]
}

// assertAdaSynced requires exactly one live contact for Ada: a user with
// member 100001's data, the one returned.
func (s *stack) assertAdaSynced() emulator.Contact {
	s.t.Helper()
	live := s.liveByEmail(adaEmail)
	if len(live) != 1 {
		s.t.Fatalf("%d live contacts for the member's email, want 1: %+v", len(live), live)
	}
	c := live[0]
	want := map[string]any{"member_number": "100001", "member_type": "Member", "region": "R1", "facility": "F101",
		"positions": "Area Representative, Facility President", "member_verified": true}
	for k, v := range want {
		if c.CustomAttributes[k] != v {
			s.t.Errorf("custom_attributes.%s = %#v, want %#v", k, c.CustomAttributes[k], v)
		}
	}
	if c.Role != "user" || c.Phone != "+17654657031" {
		s.t.Errorf("role %q phone %q", c.Role, c.Phone)
	}
	return c
}

// A new member: the agent tags the conversation (the part-shaped payload,
// attributes included); a user contact is created with the member data
// and the tag removed. The same notification redelivered writes nothing.
func TestTagResyncCreatesContact(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"})
	notif := testenv.Name("notif_")
	s.notify(tagNotification(notif, conv.ID, tagPart, tag, map[string]any{"Member Number Verification": "100001"}))
	res := s.mustResync(conv.ID, activities.ResyncSynced)
	c := s.assertAdaSynced()
	if res.ContactID != c.ID || res.Contact != activities.ContactCreated || res.Tag != activities.TagRemoved || res.MemberNumber != "100001" {
		t.Fatalf("result %+v", res)
	}
	if slices.Contains(s.conversationTags(conv.ID), tag.ID) || len(s.conversationTags(conv.ID)) != 1 {
		t.Fatalf("tags %v: want only the other tag", s.conversationTags(conv.ID))
	}

	writes := s.writes()
	s.notify(tagNotification(notif, conv.ID, tagPart, tag, map[string]any{"Member Number Verification": "100001"}))
	if res := s.mustResync(conv.ID, activities.ResyncDuplicate); res.ContactID != "" || s.writes() != writes {
		t.Fatalf("redelivery: %+v, %d writes", res, s.writes()-writes)
	}
}

// The lead who wrote in becomes the member's user (same contact); the
// notification (tags_added shape) carries no attributes, so the
// conversation is read for the member number.
func TestTagResyncConvertsLead(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	lead, err := s.emulator.AddContact(emulator.Contact{Role: "lead", Email: "Ada.Lovelace@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"}, lead.ID)
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag, nil))
	res := s.mustResync(conv.ID, activities.ResyncSynced)
	if c := s.assertAdaSynced(); c.ID != lead.ID || res.Contact != activities.ContactConverted {
		t.Fatalf("contact %s, result %+v: want the lead %s converted", c.ID, res, lead.ID)
	}
	if s.calls("GET /conversations/{conversation_id}") == 0 {
		t.Fatal("the conversation was not read for its member number")
	}
	if slices.Contains(s.conversationTags(conv.ID), tag.ID) {
		t.Fatal("tag still on the conversation")
	}
}

// An existing user with stale member data is updated; its own fields stay.
func TestTagResyncUpdatesUser(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	user, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: adaEmail, ExternalID: s.id("user", "ada"),
		Name: "Ada L.", CustomAttributes: map[string]any{"member_number": "999", "region": "R9"}})
	if err != nil {
		t.Fatal(err)
	}
	conv, tag := s.taggedConversation(map[string]any{"member_number_verification": 100001}, user.ID)
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag,
		map[string]any{"member_number_verification": 100001}))
	res := s.mustResync(conv.ID, activities.ResyncSynced)
	c := s.assertAdaSynced()
	if c.ID != user.ID || res.Contact != activities.ContactExisting || c.Name != "Ada L." || c.ExternalID != user.ExternalID {
		t.Fatalf("contact %+v, result %+v", c, res)
	}
}

// Two leads, an older duplicate user and the member's current user: one
// user remains, carrying the member data; the leads are merged into it and
// the older user archived.
func TestTagResyncFoldsDuplicates(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	now := time.Now().Unix()
	older, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: adaEmail, CreatedAt: now - 90000, UpdatedAt: now - 80000})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := s.emulator.AddDuplicateUser(emulator.Contact{Email: "ADA.LOVELACE@example.com", CreatedAt: now - 50000, UpdatedAt: now - 100})
	if err != nil {
		t.Fatal(err)
	}
	leads := s.addLeads(2, adaEmail)
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"}, leads[0])
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag, nil))
	res := s.mustResync(conv.ID, activities.ResyncSynced)
	c := s.assertAdaSynced()
	merged := slices.Sorted(slices.Values(res.MergedLeads))
	if c.ID != newer.ID || !slices.Equal(merged, slices.Sorted(slices.Values(leads))) ||
		!slices.Equal(res.ArchivedUsers, []string{older.ID}) {
		t.Fatalf("survivor %s, result %+v; want %s, leads %v merged, %s archived", c.ID, res, newer.ID, leads, older.ID)
	}
	for _, ct := range s.emulator.Snapshot().Contacts {
		switch {
		case slices.Contains(leads, ct.ID) && ct.MergedInto != newer.ID:
			t.Errorf("lead %s not merged into the survivor: %+v", ct.ID, ct)
		case ct.ID == older.ID && !ct.Archived:
			t.Errorf("older user not archived")
		}
	}
	// The lead's conversation now belongs to the survivor.
	for _, cv := range s.emulator.Snapshot().Conversations {
		if cv.ID == conv.ID && (len(cv.Contacts) != 1 || cv.Contacts[0].ID != newer.ID) {
			t.Errorf("conversation contacts %+v", cv.Contacts)
		}
	}
}

// A missing member number and an unknown member stop the re-sync with its
// outcome; no contact is written and the tag stays for the agent.
func TestTagResyncStopsKeepTheTag(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	for _, tc := range []struct {
		name    string
		attrs   map[string]any // on the conversation; the payload leaves them out
		outcome activities.ResyncOutcome
	}{
		{"missing member number", map[string]any{"Member Number Verification": ""}, activities.ResyncNoMemberNumber},
		{"unknown member", map[string]any{"Member Number Verification": "999999"}, activities.ResyncMemberNotFound},
		{"inactive member", map[string]any{"member_number_verification": "100005"}, activities.ResyncMemberNotFound},
		{"exponent", map[string]any{"Member Number Verification": "1e5"}, activities.ResyncInvalidMemberNumber},
		{"negative", map[string]any{"member_number_verification": -1}, activities.ResyncInvalidMemberNumber},
		{"spaces", map[string]any{"Member Number Verification": " 12 "}, activities.ResyncInvalidMemberNumber},
		{"40 digits", map[string]any{"Member Number Verification": strings.Repeat("1", 40)}, activities.ResyncInvalidMemberNumber},
		{"unicode digits", map[string]any{"Member Number Verification": "١٠٠٠٠١"}, activities.ResyncInvalidMemberNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conv, tag := s.taggedConversation(tc.attrs)
			s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag, nil))
			s.mustResync(conv.ID, tc.outcome)
			if !slices.Contains(s.conversationTags(conv.ID), tag.ID) {
				t.Fatal("the tag was removed")
			}
		})
	}
	if s.writes() != 0 {
		t.Fatalf("%d Intercom writes", s.writes())
	}
	var refused dto.Metric
	if err := s.metrics.MemberNumbersInvalid.Write(&refused); err != nil {
		t.Fatal(err)
	}
	if n := refused.GetCounter().GetValue(); n != 5 {
		t.Fatalf("intercom_sync_member_numbers_invalid_total = %v, want the 5 refused", n)
	}
}

// The member number is the conversation's in Intercom, re-read: a
// notification that claims another one (a forged or stale body) is not
// believed.
func TestTagResyncUsesIntercomsMemberNumber(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"})
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag,
		map[string]any{"Member Number Verification": "100002"}))
	res := s.mustResync(conv.ID, activities.ResyncSynced)
	if res.MemberNumber != "100001" {
		t.Fatalf("result %+v: want Intercom's member 100001", res)
	}
	s.assertAdaSynced()
	if len(s.liveByEmail("Grace.Hopper@Example.com")) != 0 {
		t.Fatal("a contact was made for the member the notification claimed")
	}
	if s.calls("GET /conversations/{conversation_id}") == 0 {
		t.Fatal("the conversation was not read for its member number")
	}
}

// Tags other than the re-sync tag start nothing.
func TestTagResyncIgnoresOtherTags(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	conv, _ := s.taggedConversation(map[string]any{"Member Number Verification": "100001"})
	vip := s.emulator.AddTag("vip")
	for _, shape := range []tagShape{tagsAdded, tagPart} {
		s.notify(tagNotification(testenv.Name("notif_"), conv.ID, shape, vip, map[string]any{"Member Number Verification": "100001"}))
	}
	_, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.TagResyncWorkflowID(conv.ID), "")
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		t.Fatalf("describe: %v; want no workflow", err)
	}
	if n := s.emulator.Snapshot().Counters.Requests; n != 0 {
		t.Fatalf("%d Intercom calls", n)
	}
}

// The agent removed the tag themselves before the re-sync got to it: 404,
// which counts as done.
func TestTagResyncTagAlreadyGone(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.addPositions("100001", "Facility President", "Area Representative")
	tag := s.emulator.AddTag(workflows.DefaultResyncTag)
	convs, err := s.emulator.SeedConversation(emulator.Conversation{ID: uniqueConversationID(),
		CustomAttributes: map[string]any{"Member Number Verification": "100001"}})
	if err != nil {
		t.Fatal(err)
	}
	conv := convs[0]
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag, map[string]any{"Member Number Verification": "100001"}))
	res := s.mustResync(conv.ID, activities.ResyncSynced)
	if res.Tag != activities.AlreadyDone {
		t.Fatalf("result %+v", res)
	}
	s.assertAdaSynced()
	if n := s.calls(untagEndpoint); n != 1 {
		t.Fatalf("%d untag calls", n)
	}
}

// A wrong INTERCOM_ADMIN_ID fails the run with a message naming it; the
// contact is synced, and the tag stays for a retry once it is fixed.
func TestTagResyncWrongAdminFails(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{adminID: "123"})
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"})
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag, map[string]any{"Member Number Verification": "100001"}))
	_, err := s.resync(conv.ID)
	if err == nil || !strings.Contains(err.Error(), "INTERCOM_ADMIN_ID") || !strings.Contains(err.Error(), "remove tag") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Contains(s.conversationTags(conv.ID), tag.ID) {
		t.Fatal("the tag was removed")
	}
}

// flaky makes chosen Intercom calls fail once each: "down" answers 503
// without reaching Intercom; "lost" lets Intercom carry the call out and
// then loses the answer, as a dropped connection would. Each rule fires
// on the first matching call only.
type flaky struct {
	next  http.RoundTripper
	mu    sync.Mutex
	rules []*flakyRule
}

type flakyRule struct {
	method string
	path   *regexp.Regexp
	lost   bool
	fired  bool
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	var hit *flakyRule
	for _, rule := range f.rules {
		if !rule.fired && r.Method == rule.method && rule.path.MatchString(r.URL.Path) {
			rule.fired, hit = true, rule
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return f.next.RoundTrip(r)
	}
	if !hit.lost {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Request: r, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"type":"error.list","errors":[{"code":"service_unavailable","message":"Service Unavailable"}]}`))}, nil
	}
	resp, err := f.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("connection reset by peer (answer lost after Intercom carried out the call)")
}

func (f *flaky) unfired() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, rule := range f.rules {
		if !rule.fired {
			out = append(out, rule.method+" "+rule.path.String())
		}
	}
	return out
}

// Intercom fails at every step of a fold (each call once), then recovers:
// the end state is the same as without failures, and the tag is removed
// with exactly one DELETE even though the answer to that DELETE was lost.
func TestTagResyncRecoversFromIntercomFailures(t *testing.T) {
	t.Parallel()
	f := &flaky{rules: []*flakyRule{
		{method: "GET", path: regexp.MustCompile(`^/conversations/[^/]+$`)},
		{method: "POST", path: regexp.MustCompile(`^/contacts/search$`)},
		{method: "POST", path: regexp.MustCompile(`^/contacts/merge$`), lost: true},
		{method: "POST", path: regexp.MustCompile(`^/contacts/[^/]+/archive$`), lost: true},
		{method: "GET", path: regexp.MustCompile(`^/data_attributes$`)},
		{method: "PUT", path: regexp.MustCompile(`^/contacts/[^/]+$`), lost: true},
		{method: "GET", path: regexp.MustCompile(`^/me$`)},
		{method: "DELETE", path: regexp.MustCompile(`^/conversations/[^/]+/tags/[^/]+$`), lost: true},
	}}
	s := newStack(t, stackOptions{intercomTransport: func(next http.RoundTripper) http.RoundTripper {
		f.next = next
		return f
	}})
	s.addPositions("100001", "Facility President", "Area Representative")
	now := time.Now().Unix()
	older, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: adaEmail, UpdatedAt: now - 80000})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := s.emulator.AddDuplicateUser(emulator.Contact{Email: adaEmail, UpdatedAt: now - 100})
	if err != nil {
		t.Fatal(err)
	}
	leads := s.addLeads(2, adaEmail)
	conv, tag := s.taggedConversation(map[string]any{"Member Number Verification": "100001"}, leads[0])
	s.notify(tagNotification(testenv.Name("notif_"), conv.ID, tagsAdded, tag, nil))
	res := s.mustResync(conv.ID, activities.ResyncSynced)

	if left := f.unfired(); len(left) != 0 {
		t.Fatalf("failures never injected: %v", left)
	}
	c := s.assertAdaSynced()
	if c.ID != newer.ID || len(res.MergedLeads) != 2 || !slices.Equal(res.ArchivedUsers, []string{older.ID}) {
		t.Fatalf("survivor %s, result %+v", c.ID, res)
	}
	for _, ct := range s.emulator.Snapshot().Contacts {
		if slices.Contains(leads, ct.ID) && ct.MergedInto != newer.ID {
			t.Errorf("lead %s not merged", ct.ID)
		}
	}
	if slices.Contains(s.conversationTags(conv.ID), tag.ID) {
		t.Fatal("tag still on the conversation")
	}
	if n := s.calls(untagEndpoint); n != 1 {
		t.Fatalf("%d untag calls reached Intercom, want exactly 1", n)
	}
}

// addLeads adds n leads with the email and returns their ids.
func (s *stack) addLeads(n int, email string) []string {
	s.t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		l, err := s.emulator.AddContact(emulator.Contact{Role: "lead", Email: email})
		if err != nil {
			s.t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	return ids
}
