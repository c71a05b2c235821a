package intercom

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

func TestConversationMemberNumber(t *testing.T) {
	for _, tc := range []struct {
		attrs Attributes
		want  string
	}{
		{Attributes{"Member Number Verification": []byte(`"12345"`)}, "12345"},
		{Attributes{"member_number_verification": []byte(`12345`)}, "12345"},
		// The UI label wins when both are there; a blank one does not count.
		{Attributes{"Member Number Verification": []byte(`"1"`), "member_number_verification": []byte(`"2"`)}, "1"},
		{Attributes{"Member Number Verification": []byte(`" "`), "member_number_verification": []byte(`"2"`)}, "2"},
		{Attributes{"member_number": []byte(`"3"`)}, ""},
		// As typed, for the caller to validate: no trimming, a number's
		// literal, other JSON as is.
		{Attributes{"Member Number Verification": []byte(`" 12 "`)}, " 12 "},
		{Attributes{"Member Number Verification": []byte(`1e5`)}, "1e5"},
		{Attributes{"Member Number Verification": []byte(`-1`)}, "-1"},
		{Attributes{"Member Number Verification": []byte(`true`)}, "true"},
		{Attributes{"Member Number Verification": []byte(`null`), "member_number_verification": []byte(`"4"`)}, "4"},
		{nil, ""},
	} {
		if got := ConversationMemberNumber(tc.attrs); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.attrs, got, tc.want)
		}
	}
}

func TestConversationHasTagReadsTheConversationsTags(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/conversations/123":
			// Ids as strings, and as numbers as older payloads send them.
			fmt.Fprint(w, `{"type":"conversation","id":"123","tags":{"type":"tag.list","tags":[{"type":"tag","id":"7","name":"resync"},{"type":"tag","id":81,"name":"other"}]}}`)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"type":"error.list","errors":[{"code":"not_found","message":"Resource Not Found"}]}`)
		}
	})
	ctx := context.Background()
	for tag, want := range map[string]bool{"7": true, "81": true, "8": false, "": false} {
		if has, err := c.ConversationHasTag(ctx, "123", tag); err != nil || has != want {
			t.Errorf("tag %q: %v, %v; want %v", tag, has, err, want)
		}
	}
	if has, err := c.ConversationHasTag(ctx, "999", "7"); has || !IsNotFound(err) {
		t.Errorf("unknown conversation: %v, %v; want its 404", has, err)
	}
}
