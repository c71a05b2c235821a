// Package phone normalises the member database's free-form phone numbers
// ("(765) 465-7031", "765.465.7031", "+1 765 465 7031", …) to E.164, the
// form Intercom stores, with Google's libphonenumber rules.
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is assumed for numbers written without a country code: the
// member database is a US one.
const DefaultRegion = "US"

// E164 returns raw in E.164 (e.g. "+17654657031") and true, or "" and
// false when raw is empty, is not a phone number, or is not a valid number
// for its country (too short, an unassigned area code, "555-1234"). An
// extension is dropped: Intercom's phone field has no place for it.
func E164(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	n, err := phonenumbers.Parse(raw, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	n.Extension = nil
	return phonenumbers.Format(n, phonenumbers.E164), true
}
