package intercom

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// resyncTag is the tag name the fuzzed tag notifications are asked about.
const resyncTag = "intercom-sync"

// FuzzParseNotification feeds arbitrary bodies through the notification
// parser and, for each, both item parsers: the conversation (API 2.x
// source/contacts, and the 1.x user/conversation_message shape) and the
// tagged conversation (tags_added, and the conversation part of type
// "tag"). Seeds: testdata/fuzz/FuzzParseNotification. Properties:
//   - nothing panics;
//   - a notification that parses has a topic, and decode→encode→decode
//     gives the same encoding;
//   - ids are trimmed: never " x";
//   - the contact id is the author's or one of the contacts' ids;
//   - a tagged conversation that parses has an id, and the tag it reports
//     added is the one asked for.
func FuzzParseNotification(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			return
		}
		if n.Topic == "" {
			t.Fatal("ParseNotification accepted a notification without a topic")
		}
		checkTrimmed(t, "notification id", n.ID)
		checkTrimmed(t, "app id", n.AppID)
		if n.Data.Item != nil && !json.Valid(n.Data.Item) {
			t.Fatalf("data.item is not JSON: %q", n.Data.Item)
		}
		encoded, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("a parsed notification does not encode: %v", err)
		}
		n2, err := ParseNotification(encoded)
		if err != nil {
			t.Fatalf("an encoded notification does not parse: %v\n%s", err, encoded)
		}
		if again, _ := json.Marshal(n2); !bytes.Equal(again, encoded) {
			t.Fatalf("decode→encode→decode is not stable:\n first %s\nsecond %s", encoded, again)
		}

		if c, err := ParseConversationItem(n.Data.Item); err == nil {
			checkConversation(t, c)
		}
		if c, err := ParseTaggedConversation(n.Data.Item); err == nil {
			checkTagged(t, c)
		}
	})
}

func checkConversation(t *testing.T, c ConversationItem) {
	t.Helper()
	checkTrimmed(t, "conversation id", c.ID)
	checkTrimmed(t, "author id", c.Source.Author.ID)
	candidates := []ID{}
	if authoredByContact(c.Source.Author.Type) {
		candidates = append(candidates, c.Source.Author.ID)
	}
	for _, ct := range c.Contacts.Contacts {
		checkTrimmed(t, "contact id", ct.ID)
		candidates = append(candidates, ct.ID)
	}
	id := c.ContactID()
	if id == "" {
		for _, cand := range candidates {
			if cand != "" {
				t.Fatalf("ContactID is empty although %q is a contact", cand)
			}
		}
		return
	}
	for _, cand := range candidates {
		if string(cand) == id {
			return
		}
	}
	t.Fatalf("ContactID %q is neither a contact author nor a contact", id)
}

func checkTagged(t *testing.T, c TaggedConversation) {
	t.Helper()
	if c.ID == "" {
		t.Fatal("ParseTaggedConversation accepted a conversation without an id")
	}
	checkTrimmed(t, "conversation id", c.ID)
	tag, ok := c.AddedTag(resyncTag)
	if ok && !strings.EqualFold(tag.Name, resyncTag) {
		t.Fatalf("AddedTag(%q) reported tag %q", resyncTag, tag.Name)
	}
	if _, ok := c.AddedTag("  "); ok {
		t.Fatal("AddedTag found a blank tag name")
	}
}

func checkTrimmed(t *testing.T, what string, id ID) {
	t.Helper()
	if strings.TrimSpace(string(id)) != string(id) {
		t.Fatalf("%s %q is not trimmed", what, id)
	}
}

// FuzzVerifySignature checks that X-Hub-Signature verification accepts a
// header only when it is the HMAC-SHA1 of the body under the secret,
// computed here independently; and that the signature Signature makes is
// always accepted and stops being so when the body changes. Seeds:
// testdata/fuzz/FuzzVerifySignature.
func FuzzVerifySignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		mac := hmac.New(sha1.New, secret)
		mac.Write(body)
		want := "sha1=" + hex.EncodeToString(mac.Sum(nil))

		if err := VerifySignature(secret, body, header); err == nil &&
			!strings.EqualFold(strings.TrimSpace(header), want) {
			t.Fatalf("accepted %q; the body's signature is %q", header, want)
		}
		if err := VerifySignature(secret, body, Signature(secret, body)); err != nil {
			t.Fatalf("refused the body's own signature: %v", err)
		}
		if err := VerifySignature(secret, append(bytes.Clone(body), 'x'), want); err == nil {
			t.Fatal("accepted a signature after the body changed")
		}
	})
}
