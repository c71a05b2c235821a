package clerk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Every example event of the contract: its minimal form carries none of
// the fields the service does not use, and decodes to what the full data
// decodes to (so the store makes the same change from either).
func TestMinimalDropsWhatTheSyncDoesNotUse(t *testing.T) {
	files, err := filepath.Glob("../../../shared/contracts/clerk/examples/*.json")
	if err != nil || len(files) < 12 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		env, err := ParseEnvelope(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		min, err := Minimal(env.Type, env.Data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, dropped := range []string{"phone_number", "private_metadata", "unsafe_metadata", "public_metadata",
			"external_accounts", "image_url", "profile_image_url", "web3_wallets", "identifier", "verification"} {
			if strings.Contains(string(min), `"`+dropped) {
				t.Errorf("%s: minimal data keeps %s: %s", filepath.Base(file), dropped, min)
			}
		}
		same := func(decode func([]byte) (any, error)) {
			full, err1 := decode(env.Data)
			small, err2 := decode(min)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(full, small) {
				t.Errorf("%s: full decodes to %+v (%v), minimal to %+v (%v)", filepath.Base(file), full, err1, small, err2)
			}
		}
		switch env.Type {
		case UserCreated, UserUpdated:
			same(func(b []byte) (any, error) {
				u, err := Decode(b, func(u User) string { return u.ID })
				return [5]any{u.ID, u.FullName(), u.PrimaryEmail(), u.CreatedAt, u.UpdatedAt}, err
			})
		case OrgCreated, OrgUpdated:
			same(func(b []byte) (any, error) { return Decode(b, func(o Organization) string { return o.ID }) })
		case MembershipCreated, MembershipUpdated, MembershipDeleted:
			same(func(b []byte) (any, error) { return Decode(b, func(m Membership) string { return m.ID }) })
		case InvitationCreated, InvitationAccepted, InvitationRevoked:
			same(func(b []byte) (any, error) { return Decode(b, func(i Invitation) string { return i.ID }) })
		default:
			same(func(b []byte) (any, error) { return Decode(b, func(d Deleted) string { return d.ID }) })
		}
	}
	if _, err := Minimal("session.created", json.RawMessage(`{"id":"s"}`)); err == nil {
		t.Error("Minimal accepted an unhandled type")
	}
}
