package intercom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// The two payload shapes of conversation_part.tag.created: tags_added
// (with ids) and a conversation part of type tag naming it.
func TestAddedTag(t *testing.T) {
	for _, tc := range []struct {
		name, item string
		want       TagRef
		ok         bool
	}{
		{"tags_added", `{"id":"1","tags_added":{"type":"tag.list","tags":[{"type":"tag","id":"17","name":"vip"},{"type":"tag","id":"42","name":"MyNATCA-Sync"}]}}`,
			TagRef{ID: "42", Name: "MyNATCA-Sync"}, true},
		{"tags_added, numeric id", `{"id":"1","tags_added":{"tags":[{"id":42,"name":"mynatca-sync"}]}}`,
			TagRef{ID: "42", Name: "mynatca-sync"}, true},
		{"part", `{"id":"1","conversation_parts":{"conversation_parts":[{"id":"9","part_type":"tag","body":" mynatca-sync "}]}}`,
			TagRef{Name: "mynatca-sync"}, true},
		{"part of another type with the name", `{"id":"1","conversation_parts":{"conversation_parts":[{"part_type":"comment","body":"mynatca-sync"}]}}`,
			TagRef{}, false},
		{"another tag added", `{"id":"1","tags_added":{"tags":[{"id":"17","name":"vip"}]}}`, TagRef{}, false},
		// tags_added is this event's list: an older tag part does not count.
		{"tags_added wins over old parts", `{"id":"1","tags_added":{"tags":[{"id":"17","name":"vip"}]},"conversation_parts":{"conversation_parts":[{"part_type":"tag","body":"mynatca-sync"}]}}`,
			TagRef{}, false},
		{"no tag at all", `{"id":"1"}`, TagRef{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseTaggedConversation(json.RawMessage(tc.item))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.AddedTag("mynatca-sync")
			if ok != tc.ok || got != tc.want {
				t.Fatalf("AddedTag = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	c, _ := ParseTaggedConversation(json.RawMessage(`{"id":"1","tags_added":{"tags":[{"id":"1","name":""}]}}`))
	if _, ok := c.AddedTag(" "); ok {
		t.Fatal("an empty tag name matched")
	}
}

func TestParseTaggedConversation(t *testing.T) {
	for _, item := range []string{``, `null`, `"x"`, `{"tags_added":{}}`} {
		if _, err := ParseTaggedConversation(json.RawMessage(item)); err == nil {
			t.Errorf("%q: no error", item)
		}
	}
	c, err := ParseTaggedConversation(json.RawMessage(`{"id":123,"custom_attributes":{"member_number_verification":12345}}`))
	if err != nil || c.ID != "123" || c.CustomAttributes.String("member_number_verification") != "12345" {
		t.Fatalf("%+v %v", c, err)
	}
	c, _ = ParseTaggedConversation(json.RawMessage(`{"id":"1"}`))
	if c.CustomAttributes != nil {
		t.Fatal("absent custom_attributes decoded as present")
	}
	c, _ = ParseTaggedConversation(json.RawMessage(`{"id":"1","custom_attributes":{}}`))
	if c.CustomAttributes == nil {
		t.Fatal("empty custom_attributes decoded as absent")
	}
}

func TestAttributesString(t *testing.T) {
	a := Attributes{}
	if err := json.Unmarshal([]byte(`{"s":" 12345 ","big":1234567,"neg":-5,"f":1.5,"null":null,"b":true,"o":{"x":1},"blank":"  "}`), &a); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"s": "12345", "big": "1234567", "neg": "-5", "f": "1.5", "null": "", "b": "", "o": "", "blank": "", "absent": "",
	} {
		if got := a.String(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestConversationCalls(t *testing.T) {
	var gotBody string
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /conversations/7":
			fmt.Fprint(w, `{"type":"conversation","id":"7","custom_attributes":{"Member Number Verification":"100001"},
				"tags":{"type":"tag.list","tags":[{"type":"tag","id":"42","name":"mynatca-sync"}]}}`)
		case "DELETE /conversations/7/tags/42":
			b, _ := io.ReadAll(r.Body)
			gotBody = string(b)
			fmt.Fprint(w, `{"type":"tag","id":"42","name":"mynatca-sync"}`)
		case "GET /me":
			fmt.Fprint(w, `{"type":"admin","id":991267}`)
		case "POST /contacts/c1/unarchive":
			fmt.Fprint(w, `{"type":"contact","id":"c1","archived":false}`)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"type":"error.list","errors":[{"code":"not_found","message":"Resource Not Found"}]}`)
		}
	})
	ctx := context.Background()
	conv, err := c.GetConversation(ctx, "7")
	if err != nil || conv.CustomAttributes.String("Member Number Verification") != "100001" ||
		len(conv.Tags.Tags) != 1 || conv.Tags.Tags[0].ID != "42" {
		t.Fatalf("%+v %v", conv, err)
	}
	if err := c.UntagConversation(ctx, "7", "42", "991267"); err != nil || gotBody != `{"admin_id":"991267"}` {
		t.Fatalf("untag: %v, body %s", err, gotBody)
	}
	if me, err := c.Me(ctx); err != nil || me.ID != "991267" {
		t.Fatalf("me %+v %v", me, err)
	}
	if err := c.UnarchiveContact(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetConversation(ctx, "8"); !IsNotFound(err) {
		t.Fatalf("missing conversation: %v", err)
	}
}

func TestArchivedConflict(t *testing.T) {
	archived := &Error{StatusCode: 409, Code: "conflict", Message: "An archived contact matching those details already exists with id=6a0000000000000000000001"}
	live := &Error{StatusCode: 409, Code: "conflict", Message: "A contact matching those details already exists with id=6a0000000000000000000001"}
	if !ArchivedConflict(archived) || ArchivedConflict(live) || ArchivedConflict(&Error{StatusCode: 404, Message: "archived contact"}) {
		t.Fatal("ArchivedConflict misclassifies")
	}
}
