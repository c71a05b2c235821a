package intercom

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Webhook notifications: Intercom POSTs a notification_event envelope,
// signed with the app's client secret.

// SignatureHeader carries "sha1=<hex HMAC-SHA1 of the raw body>".
const SignatureHeader = "X-Hub-Signature"

// Topics the service acts on, and the one Intercom sends when a webhook is
// saved.
const (
	TopicConversationUserCreated = "conversation.user.created"
	TopicConversationUserReplied = "conversation.user.replied"
	TopicPing                    = "ping"
)

// Signature is the X-Hub-Signature value of body under secret.
func Signature(secret, body []byte) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write(body)
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrNoSignature is VerifySignature's answer to an empty header.
var ErrNoSignature = errors.New("missing " + SignatureHeader)

// VerifySignature checks header (X-Hub-Signature) against the raw body.
// The digest is compared in constant time; hex case does not matter.
func VerifySignature(secret, body []byte, header string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrNoSignature
	}
	algo, digest, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(algo, "sha1") {
		return fmt.Errorf("%s is not sha1=<hex>", SignatureHeader)
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha1.Size {
		return fmt.Errorf("%s is not sha1=<hex>", SignatureHeader)
	}
	mac := hmac.New(sha1.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%s does not match the body", SignatureHeader)
	}
	return nil
}

// Notification is the notification_event envelope. Item is left raw: its
// shape depends on the topic.
type Notification struct {
	Type  string `json:"type"`
	ID    ID     `json:"id"`
	Topic string `json:"topic"`
	AppID ID     `json:"app_id"`
	Data  struct {
		Item json.RawMessage `json:"item"`
	} `json:"data"`
}

// ParseNotification decodes an envelope; it needs a topic and nothing
// else (a ping, for one, carries little).
func ParseNotification(body []byte) (Notification, error) {
	var n Notification
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&n); err != nil {
		return n, fmt.Errorf("malformed notification: %w", err)
	}
	if n.Topic == "" {
		return n, errors.New("notification has no topic")
	}
	return n, nil
}

// ID is an identifier Intercom may send as a string or a number; null and
// absent are "".
type ID string

// UnmarshalJSON accepts a string, a number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id %s is neither a string nor a number", b)
		}
		if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
			return fmt.Errorf("id %s is not a number", b)
		}
		*id = ID(n.String())
	}
	return nil
}

// ConversationItem is the part of a conversation notification's item the
// enrichment reads (API 2.x conversation model).
type ConversationItem struct {
	ID     ID `json:"id"`
	Source struct {
		Author Author `json:"author"`
	} `json:"source"`
	Contacts struct {
		Contacts []struct {
			ID ID `json:"id"`
		} `json:"contacts"`
	} `json:"contacts"`

	// not2x: the item has neither source nor contacts (set by
	// ParseConversationItem).
	not2x bool
}

// UnsupportedVersion reports whether the item is not in the API 2.x
// conversation model: it carries neither source nor contacts. Webhook
// payloads follow the app's API version, and a 1.x conversation carries
// item.user and conversation_message instead; its contact cannot be read
// here. Set only on an item from ParseConversationItem.
func (c ConversationItem) UnsupportedVersion() bool { return c.not2x }

// Author of a conversation source or part: user, lead, admin, bot, team.
type Author struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
}

// authoredByContact says whether an author of this type is a contact: the
// enrichment must never take an admin's, bot's or team's id for one.
func authoredByContact(authorType string) bool {
	switch strings.ToLower(authorType) {
	case "user", "lead":
		return true
	}
	return false
}

// ContactID is the contact a conversation notification is about: the
// source's author when a user or lead wrote it, else the first of the
// conversation's contacts (an admin-initiated conversation, or an author
// left out). "" when there is neither.
func (c ConversationItem) ContactID() string {
	if a := c.Source.Author; authoredByContact(a.Type) && a.ID != "" {
		return string(a.ID)
	}
	for _, ct := range c.Contacts.Contacts {
		if ct.ID != "" {
			return string(ct.ID)
		}
	}
	return ""
}

// ParseConversationItem decodes a conversation notification's item.
func ParseConversationItem(item json.RawMessage) (ConversationItem, error) {
	var c ConversationItem
	if len(bytes.TrimSpace(item)) == 0 || bytes.Equal(bytes.TrimSpace(item), []byte("null")) {
		return c, errors.New("notification has no data.item")
	}
	if err := json.Unmarshal(item, &c); err != nil {
		return c, fmt.Errorf("malformed conversation in data.item: %w", err)
	}
	var probe struct {
		Source   json.RawMessage `json:"source"`
		Contacts json.RawMessage `json:"contacts"`
	}
	_ = json.Unmarshal(item, &probe) // the item decoded above
	c.not2x = absent(probe.Source) && absent(probe.Contacts)
	return c, nil
}

// absent says whether a raw JSON value was left out or null.
func absent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}
