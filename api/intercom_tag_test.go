package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// Both payload shapes of conversation_part.tag.created start TagResync for
// the conversation: tags_added (API 2.x, with the tag id and the UI label
// of the attribute) and the conversation part of type tag (the shape the
// integration this service replaced read, snake_case attribute).
func TestTagNotificationStartsTagResync(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		want    workflows.TagResyncInput
	}{
		{"conversation_part.tag.created", workflows.TagResyncInput{
			NotificationID: "notif_8e3f2a41-6b7c-4d9e-8f10-223344556677", Topic: "conversation_part.tag.created",
			ConversationID: "186", TagID: "7522901", TagName: "MyNATCA-Sync",
			IntercomTaskQueue: "q-intercom"}},
		{"conversation_part.tag.created.part", workflows.TagResyncInput{
			NotificationID: "notif_9f4a3b52-7c8d-4e0f-9a21-334455667788", Topic: "conversation_part.tag.created",
			ConversationID: "123456789", TagName: "mynatca-sync",
			IntercomTaskQueue: "q-intercom"}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			body := fixture(t, tc.fixture)
			starter := &fakeExecutor{}
			h, hook := newIntercomHandler(t, starter, intercomSecret)
			rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
			if rec.Code != http.StatusOK || !isReceived(out) || len(starter.calls) != 1 {
				t.Fatalf("%d %v, %d starts", rec.Code, out, len(starter.calls))
			}
			c := starter.calls[0]
			if c.Tag != tc.want {
				t.Fatalf("input %+v\nwant  %+v", c.Tag, tc.want)
			}
			if c.Options.ID != "tag-resync/"+tc.want.ConversationID || c.Options.TaskQueue != "q" ||
				c.Options.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
				t.Fatalf("options %+v", c.Options)
			}
			if kind, _ := c.Options.TypedSearchAttributes.GetKeyword(searchattr.SyncKind); kind != "tag-resync" {
				t.Fatalf("SyncKind = %q", kind)
			}
			if e := hook.LastEntry(); e == nil || e.Message != "Accepted Intercom notification" ||
				e.Data["conversation_id"] != tc.want.ConversationID || e.Data["workflow_id"] != c.Options.ID {
				t.Fatalf("last log %+v", e)
			}
			for _, e := range hook.AllEntries() {
				if line, _ := e.String(); strings.Contains(line, "@") {
					t.Errorf("log line carries an email: %s", line)
				}
			}
		})
	}
}

func tagBody(item string) []byte {
	return []byte(`{"type":"notification_event","id":"notif_t","topic":"conversation_part.tag.created","data":{"item":` + item + `}}`)
}

// Whatever custom attributes the notification carries (none, null, none
// filled in, a member number), the input carries no member number: the
// workflow reads it from the conversation in Intercom.
func TestTagNotificationLeavesTheMemberNumberToIntercom(t *testing.T) {
	for item, want := range map[string]workflows.TagResyncInput{
		`{"id":"7","tags_added":{"tags":[{"id":42,"name":"mynatca-sync"}]}}`: {
			ConversationID: "7", TagID: "42", TagName: "mynatca-sync"},
		`{"id":"7","tags_added":{"tags":[{"id":42,"name":"mynatca-sync"}]},"custom_attributes":null}`: {
			ConversationID: "7", TagID: "42", TagName: "mynatca-sync"},
		`{"id":"7","tags_added":{"tags":[{"id":42,"name":"mynatca-sync"}]},"custom_attributes":{}}`: {
			ConversationID: "7", TagID: "42", TagName: "mynatca-sync"},
		`{"id":"7","tags_added":{"tags":[{"id":42,"name":"mynatca-sync"}]},"custom_attributes":{"Member Number Verification":100003}}`: {
			ConversationID: "7", TagID: "42", TagName: "mynatca-sync"},
	} {
		starter := &fakeExecutor{}
		h, _ := newIntercomHandler(t, starter, intercomSecret)
		body := tagBody(item)
		rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
		if rec.Code != http.StatusOK || !isReceived(out) || len(starter.calls) != 1 {
			t.Fatalf("%s: %d %v, %d starts", item, rec.Code, out, len(starter.calls))
		}
		want.NotificationID, want.Topic, want.IntercomTaskQueue = "notif_t", "conversation_part.tag.created", "q-intercom"
		if got := starter.calls[0].Tag; got != want {
			t.Errorf("%s:\ninput %+v\nwant  %+v", item, got, want)
		}
	}
}

// Agents tag conversations with all sorts of tags: only the re-sync tag
// starts anything; the rest is acknowledged and logged.
func TestOtherTagsAreIgnored(t *testing.T) {
	for _, item := range []string{
		`{"id":"7","tags_added":{"tags":[{"id":"17","name":"vip"}]}}`,
		`{"id":"7","conversation_parts":{"conversation_parts":[{"part_type":"tag","body":"billing"}]}}`,
		`{"id":"7","tags_added":{"tags":[{"id":"18","name":"mynatca-sync-later"}]}}`,
		`{"id":"7"}`,
	} {
		starter := &fakeExecutor{}
		h, hook := newIntercomHandler(t, starter, intercomSecret)
		body := tagBody(item)
		rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
		if rec.Code != http.StatusOK || !isReceived(out) || len(starter.calls) != 0 {
			t.Fatalf("%s: %d %v, %d starts", item, rec.Code, out, len(starter.calls))
		}
		if e := hook.LastEntry(); e == nil || e.Message != "Ignored Intercom tag notification: not the re-sync tag" ||
			e.Data["conversation_id"] != "7" {
			t.Fatalf("%s: last log %+v", item, e)
		}
	}
}

// RESYNC_TAG is configurable; the default then no longer counts.
func TestResyncTagIsConfigurable(t *testing.T) {
	starter := &fakeExecutor{}
	log, _ := logtest.NewNullLogger()
	h, err := NewIntercomHandler(intercomSecret, starter, Queues{Workflows: "q", Intercom: "q-intercom"}, 0, log,
		WithResyncTag("Member-Resync"))
	if err != nil {
		t.Fatal(err)
	}
	for item, starts := range map[string]int{
		`{"id":"7","tags_added":{"tags":[{"id":"17","name":"member-resync"}]}}`: 1,
		`{"id":"8","tags_added":{"tags":[{"id":"18","name":"mynatca-sync"}]}}`:  0,
	} {
		starter.calls = nil
		body := tagBody(item)
		if rec, _ := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body)); rec.Code != 200 || len(starter.calls) != starts {
			t.Fatalf("%s: %d, %d starts, want %d", item, rec.Code, len(starter.calls), starts)
		}
	}
	if _, err := NewIntercomHandler(intercomSecret, starter, Queues{}, 0, log, WithResyncTag(" ")); err == nil {
		t.Fatal("an empty re-sync tag was accepted")
	}
}

func TestTagNotificationRejections(t *testing.T) {
	for name, body := range map[string][]byte{
		"no notification id": []byte(`{"topic":"conversation_part.tag.created","data":{"item":{"id":"7","tags_added":{"tags":[{"id":"1","name":"mynatca-sync"}]}}}}`),
		"no conversation id": tagBody(`{"tags_added":{"tags":[{"id":"1","name":"mynatca-sync"}]}}`),
		"no item":            []byte(`{"id":"notif_t","topic":"conversation_part.tag.created","data":{}}`),
		"malformed tags":     tagBody(`{"id":"7","tags_added":{"tags":"mynatca-sync"}}`),
	} {
		starter := &fakeExecutor{}
		h, _ := newIntercomHandler(t, starter, intercomSecret)
		rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
		if rec.Code != http.StatusBadRequest || out["error"] == nil || len(starter.calls) != 0 {
			t.Errorf("%s: %d %v, %d starts", name, rec.Code, out, len(starter.calls))
		}
	}
}

func TestTagNotificationTemporalFailureIs503(t *testing.T) {
	body := fixture(t, "conversation_part.tag.created")
	h, hook := newIntercomHandler(t, &fakeExecutor{err: errors.New("unavailable")}, intercomSecret)
	rec, out := postTo(t, h, "/api/intercom/webhook", body, hubSigned(body))
	if rec.Code != http.StatusServiceUnavailable || out["received"] != nil {
		t.Fatalf("%d %v", rec.Code, out)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.ErrorLevel || e.Data["conversation_id"] != "186" {
		t.Fatalf("last log %+v", e)
	}
}
