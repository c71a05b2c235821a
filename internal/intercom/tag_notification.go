package intercom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// TopicConversationPartTagCreated is sent when a teammate tags a
// conversation; the tag-based re-sync acts on it.
const TopicConversationPartTagCreated = "conversation_part.tag.created"

// TaggedConversation is the item of a conversation_part.tag.created
// notification. Payloads differ between API versions: one lists the new
// tags in tags_added (with ids), another only carries a conversation part
// of type "tag" whose body is the tag's name. Both are read.
type TaggedConversation struct {
	ID ID `json:"id"`
	// CustomAttributes is nil when the payload does not carry them (then
	// the conversation must be fetched to read them).
	CustomAttributes Attributes `json:"custom_attributes"`
	TagsAdded        struct {
		Tags []TagRef `json:"tags"`
	} `json:"tags_added"`
	ConversationParts struct {
		ConversationParts []struct {
			PartType string `json:"part_type"`
			Body     string `json:"body"`
		} `json:"conversation_parts"`
	} `json:"conversation_parts"`
}

// AddedTag returns the added tag called name (compared case-insensitively,
// as Intercom compares tag names). tags_added wins when the payload has
// it, because it lists exactly this event's tags, whereas the parts may
// include older tag parts; otherwise a part of type "tag" whose body is
// the name counts, and its TagRef has no id. ok is false when the event
// did not add that tag.
func (c TaggedConversation) AddedTag(name string) (TagRef, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return TagRef{}, false
	}
	if len(c.TagsAdded.Tags) > 0 {
		for _, t := range c.TagsAdded.Tags {
			if strings.EqualFold(strings.TrimSpace(t.Name), name) {
				return TagRef{ID: t.ID, Name: strings.TrimSpace(t.Name)}, true
			}
		}
		return TagRef{}, false
	}
	for _, p := range c.ConversationParts.ConversationParts {
		if strings.EqualFold(p.PartType, "tag") && strings.EqualFold(strings.TrimSpace(p.Body), name) {
			return TagRef{Name: strings.TrimSpace(p.Body)}, true
		}
	}
	return TagRef{}, false
}

// ParseTaggedConversation decodes a tag notification's item. The
// conversation id is required: it is what the re-sync acts on.
func ParseTaggedConversation(item json.RawMessage) (TaggedConversation, error) {
	var c TaggedConversation
	trimmed := bytes.TrimSpace(item)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return c, errors.New("notification has no data.item")
	}
	if err := json.Unmarshal(trimmed, &c); err != nil {
		return c, fmt.Errorf("malformed conversation in data.item: %w", err)
	}
	if c.ID == "" {
		return c, errors.New("tagged conversation has no id")
	}
	return c, nil
}
