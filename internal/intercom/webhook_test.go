package intercom

import (
	"errors"
	"strings"
	"testing"
)

func TestSignatureKnownVector(t *testing.T) {
	// RFC 2104 HMAC-SHA1, the classic published example.
	got := Signature([]byte("key"), []byte("The quick brown fox jumps over the lazy dog"))
	if got != "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9" {
		t.Fatalf("Signature = %s", got)
	}
}

func TestVerifySignature(t *testing.T) {
	secret, body := []byte("client-secret"), []byte(`{"type":"notification_event","topic":"ping"}`)
	good := Signature(secret, body)
	for _, tc := range []struct {
		name, header string
		body         []byte
		ok           bool
	}{
		{"good", good, body, true},
		{"upper-case hex", "sha1=" + strings.ToUpper(strings.TrimPrefix(good, "sha1=")), body, true},
		{"body changed by one byte", good, append([]byte(" "), body...), false},
		{"other secret", Signature([]byte("other"), body), body, false},
		{"missing", "", body, false},
		{"no algorithm", strings.TrimPrefix(good, "sha1="), body, false},
		{"sha256 label", "sha256=" + strings.TrimPrefix(good, "sha1="), body, false},
		{"not hex", "sha1=zz" + good[7:], body, false},
		{"truncated", good[:len(good)-2], body, false},
	} {
		err := VerifySignature(secret, tc.body, tc.header)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if err := VerifySignature(secret, body, ""); !errors.Is(err, ErrNoSignature) {
		t.Errorf("missing header: %v, want ErrNoSignature", err)
	}
}

func TestParseNotification(t *testing.T) {
	n, err := ParseNotification([]byte(`{"type":"notification_event","id":"notif_1","topic":"conversation.user.replied",
		"app_id":"abc","data":{"type":"notification_event_data","item":{"type":"conversation","id":"123"}}}`))
	if err != nil || n.ID != "notif_1" || n.Topic != TopicConversationUserReplied || len(n.Data.Item) == 0 {
		t.Fatalf("%+v, %v", n, err)
	}
	// Numbers and null are tolerated where Intercom has been seen to vary.
	n, err = ParseNotification([]byte(`{"id":12345,"topic":"ping","app_id":null,"data":{"item":{"type":"ping"}}}`))
	if err != nil || n.ID != "12345" || n.AppID != "" {
		t.Fatalf("%+v, %v", n, err)
	}
	for _, bad := range []string{``, `{`, `[]`, `{"id":"x"}`, `{"topic":""}`, `{"topic":"ping","id":{}}`, `{"topic":"ping","data":"x"}`} {
		if _, err := ParseNotification([]byte(bad)); err == nil {
			t.Errorf("ParseNotification(%q) accepted", bad)
		}
	}
}

func TestConversationContactID(t *testing.T) {
	for _, tc := range []struct{ name, item, want string }{
		{"user author", `{"id":"1","source":{"author":{"type":"user","id":"u1"}},"contacts":{"contacts":[{"id":"c1"}]}}`, "u1"},
		{"lead author", `{"id":"1","source":{"author":{"type":"lead","id":"l1"}},"contacts":{"contacts":[{"id":"c1"}]}}`, "l1"},
		{"admin author: first contact", `{"id":"1","source":{"author":{"type":"admin","id":"a1"}},"contacts":{"contacts":[{"id":"c1"},{"id":"c2"}]}}`, "c1"},
		{"bot author: first contact", `{"id":"1","source":{"author":{"type":"bot","id":"b1"}},"contacts":{"contacts":[{"id":"c1"}]}}`, "c1"},
		{"no source", `{"id":"1","contacts":{"contacts":[{"id":"c1"}]}}`, "c1"},
		{"user author without id", `{"id":"1","source":{"author":{"type":"user"}},"contacts":{"contacts":[{"id":"c1"}]}}`, "c1"},
		{"admin only", `{"id":"1","source":{"author":{"type":"admin","id":"a1"}},"contacts":{"contacts":[]}}`, ""},
		{"nothing", `{"id":"1"}`, ""},
	} {
		c, err := ParseConversationItem([]byte(tc.item))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.ContactID(); got != tc.want {
			t.Errorf("%s: ContactID = %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{``, `null`, `"x"`, `{"source":"x"}`} {
		if _, err := ParseConversationItem([]byte(bad)); err == nil {
			t.Errorf("ParseConversationItem(%q) accepted", bad)
		}
	}
}

func TestConversationItemsOfAnotherAPIVersion(t *testing.T) {
	for item, want := range map[string]bool{
		// API 1.x: the user, and conversation_message instead of source.
		`{"type":"conversation","id":"1","user":{"type":"user","id":"5310d8e7598c9a0b24000002"},"conversation_message":{"author":{"type":"user","id":"5310d8e7598c9a0b24000002"}}}`: true,
		`{"id":"1"}`: true,
		`{"id":"1","source":null,"contacts":null}`:                                             true,
		`{"id":"1","contacts":{"contacts":[{"id":"c1"}]}}`:                                     false,
		`{"id":"1","source":{"author":{"type":"admin","id":"a1"}},"contacts":{"contacts":[]}}`: false,
		`{"id":"1","source":{"author":{"type":"user","id":"u1"}}}`:                             false,
	} {
		c, err := ParseConversationItem([]byte(item))
		if err != nil || c.UnsupportedVersion() != want {
			t.Errorf("%s: UnsupportedVersion = %v (%v), want %v", item, c.UnsupportedVersion(), err, want)
		}
	}
}
