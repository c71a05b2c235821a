package clerk

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/entity"
)

// FuzzDecodeEvent feeds arbitrary delivery bodies through what the Clerk
// handler and the workflows do with them: ParseEnvelope, Route, Minimal.
// Seeds: testdata/fuzz/FuzzDecodeEvent (every example of the Clerk
// contract, and some malformed ones). Properties:
//   - nothing panics;
//   - an envelope that parses has a type and object data;
//   - a routed event names a known entity kind and a non-empty id;
//   - Minimal is a fixed point: the minimal event of a minimal event is
//     itself (decode→encode→decode stable), it routes to the same entity
//     as the full event, and a user keeps at most one email address.
func FuzzDecodeEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEnvelope(body)
		if err != nil {
			return
		}
		if e.Type == "" || len(e.Data) == 0 || e.Data[0] != '{' {
			t.Fatalf("ParseEnvelope accepted type %q data %q", e.Type, e.Data)
		}
		kind, id, routeErr := Route(e)
		if routeErr == nil {
			if id == "" {
				t.Fatalf("Route(%s) gave an empty id", e.Type)
			}
			if kind != entity.User && kind != entity.Organization && kind != entity.Invitation {
				t.Fatalf("Route(%s) gave unknown kind %q", e.Type, kind)
			}
		}

		minimal, err := Minimal(e.Type, e.Data)
		if err != nil {
			if errors.Is(routeErr, ErrUnknownType) != errors.Is(err, ErrUnknownType) {
				t.Fatalf("Route and Minimal disagree on whether %q is known: %v / %v", e.Type, routeErr, err)
			}
			return
		}
		again, err := Minimal(e.Type, minimal)
		if err != nil {
			t.Fatalf("Minimal refused its own output %s: %v", minimal, err)
		}
		if !bytes.Equal(again, minimal) {
			t.Fatalf("Minimal is not stable:\n first %s\nsecond %s", minimal, again)
		}
		if routeErr == nil {
			kind2, id2, err := Route(Envelope{Type: e.Type, Data: minimal})
			if err != nil || kind2 != kind || id2 != id {
				t.Fatalf("minimal event routes to %s %q (%v), the full one to %s %q", kind2, id2, err, kind, id)
			}
		}
		if e.Type == UserCreated || e.Type == UserUpdated {
			var u User
			if err := json.Unmarshal(minimal, &u); err != nil {
				t.Fatal(err)
			}
			if len(u.EmailAddresses) > 1 {
				t.Fatalf("minimal user keeps %d email addresses", len(u.EmailAddresses))
			}
		}
	})
}
