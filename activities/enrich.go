package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/phone"
)

// Notification is an Intercom webhook notification that started an
// enrichment, as ClaimNotification records it.
type Notification struct {
	ID             string `json:"id"`
	Topic          string `json:"topic"`
	ContactID      string `json:"contact_id"`
	ConversationID string `json:"conversation_id,omitempty"`
	// RunID is the workflow run claiming the notification: its own retries
	// must still find the claim theirs.
	RunID string `json:"run_id"`
}

// ClaimNotification records the notification id in the app database and
// reports whether this run owns it: false means another run took it
// first, i.e. Intercom delivered the notification again. Running it twice
// for one run gives the same answer and writes nothing more.
func (a *Activities) ClaimNotification(ctx context.Context, n Notification) (bool, error) {
	first, err := a.Store.ClaimIntercomNotification(ctx, n.ID, n.Topic, n.ContactID, n.RunID)
	if err != nil {
		return false, err // a database error: retried by the policy
	}
	a.Log.WithFields(logrus.Fields{
		"notification_id": n.ID, "topic": n.Topic, "contact_id": n.ContactID, "duplicate": !first,
	}).Debug("Claimed Intercom notification")
	return first, nil
}

// EnrichResult says what an enrichment did.
type EnrichResult struct {
	ContactID    string        `json:"contact_id"`
	Outcome      EnrichOutcome `json:"outcome"`
	MemberNumber string        `json:"member_number,omitempty"`
}

// EnrichOutcome is what an enrichment did.
type EnrichOutcome string

const (
	EnrichEnriched        EnrichOutcome = "enriched"          // the contact now carries the member's data
	EnrichAlreadyEnriched EnrichOutcome = "already_enriched"  // it had a member_number: left alone
	EnrichNoEmail         EnrichOutcome = "no_email"          // nothing to look the member up by
	EnrichNotFound        EnrichOutcome = "not_found"         // no Active or Retired member has the email
	EnrichContactGone     EnrichOutcome = "contact_not_found" // deleted or merged away in Intercom
	EnrichDuplicate       EnrichOutcome = "duplicate"         // a redelivered notification (set by the workflow)
)

// RNAV is the region and facility written for retired members: they no
// longer belong to one.
const RNAV = "RNAV"

// EnrichContact fills an Intercom contact's member attributes from the
// member database: fetch the contact; stop if it already has a
// member_number or has no email; look the member up by email; read their
// positions; write member_number, member_type, region, facility,
// positions and member_verified, and for a user the phone (E.164, left
// out when it cannot be parsed).
//
// A user's email is the one the member signed up with in Clerk (this
// service created the user); a lead's is whatever a Messenger visitor
// typed, anyone's. So a lead gets the member fields agents need to help
// (who this claims to be) with member_verified false, and never the
// member's phone: typing a member's email must not put their phone
// number in front of whoever answers the conversation. A user gets
// member_verified true and the phone.
//
// A second run finds the member_number the first one wrote and changes
// nothing. Intercom errors follow classify(); member and positions database
// errors are retried by the policy. Logs name the contact and the member
// number, never the email or phone.
func (a *Activities) EnrichContact(ctx context.Context, contactID string) (EnrichResult, error) {
	res, err := a.enrichContact(ctx, contactID)
	log := a.Log.WithFields(logrus.Fields{"contact_id": contactID, "outcome": res.Outcome})
	if res.MemberNumber != "" {
		log = log.WithField("member_number", res.MemberNumber)
	}
	if err != nil {
		log.Errorf("Failed to enrich Intercom contact %s: %v", contactID, err)
		return res, classify(err)
	}
	switch res.Outcome {
	case EnrichEnriched:
		log.Info("Updated Intercom contact with member data")
	case EnrichAlreadyEnriched:
		log.Info("Contact already has member_number")
	case EnrichNoEmail:
		log.Info("Contact has no email, skipping lookup")
	case EnrichNotFound:
		log.Info("Member not found for contact email")
	case EnrichContactGone:
		log.Warn("Contact not found in Intercom")
	}
	return res, nil
}

func (a *Activities) enrichContact(ctx context.Context, contactID string) (EnrichResult, error) {
	res := EnrichResult{ContactID: contactID}
	c, err := a.Intercom.GetContact(ctx, contactID)
	if intercom.IsNotFound(err) {
		// Merged into another contact or deleted since the message: there is
		// nothing to enrich, and asking again will not change that.
		res.Outcome = EnrichContactGone
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("get contact %s: %w", contactID, err)
	}
	if n := attrString(c.CustomAttributes["member_number"]); n != "" {
		res.Outcome, res.MemberNumber = EnrichAlreadyEnriched, n
		return res, nil
	}
	if c.Email == nil || strings.TrimSpace(*c.Email) == "" {
		res.Outcome = EnrichNoEmail
		return res, nil
	}
	m, err := a.Members.FindByEmail(ctx, *c.Email)
	if errors.Is(err, members.ErrNotFound) {
		res.Outcome = EnrichNotFound
		return res, nil
	}
	if err != nil {
		// The error names the database, never the email looked up.
		return res, fmt.Errorf("look up member of contact %s: %w", contactID, err)
	}
	res.MemberNumber = m.Number
	positions, err := a.Positions.ForMember(ctx, m.Number)
	if err != nil {
		return res, fmt.Errorf("positions of member %s: %w", m.Number, err)
	}
	fields := a.memberFields(m, positions, c.Role == "user")
	err = a.withAttributes(ctx, "contact", fields, func(fields intercom.Fields) error {
		_, err := a.Intercom.UpdateContact(ctx, contactID, fields)
		return err
	})
	if intercom.IsNotFound(err) {
		res.Outcome = EnrichContactGone
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("update contact %s: %w", contactID, err)
	}
	res.Outcome = EnrichEnriched
	return res, nil
}

// memberFields is what the enrichment writes to a contact. verified says
// the contact's email is the member's own (a user, see EnrichContact):
// only then is the phone written.
func (a *Activities) memberFields(m members.Member, positions []string, verified bool) intercom.Fields {
	region, facility := m.Region, m.Facility
	if m.Retired() {
		region, facility = RNAV, RNAV
	}
	f := intercom.Fields{
		"custom_attributes": map[string]any{
			"member_number":   m.Number,
			"member_type":     a.MemberTypes.MemberType(m.Status, m.TypeID),
			"region":          region,
			"facility":        facility,
			"positions":       strings.Join(positions, ", "),
			"member_verified": verified,
		},
	}
	if p, ok := phone.E164(m.Phone); ok && verified {
		f["phone"] = p
	}
	return f
}

// attrString renders a custom attribute value for the "is it set" test:
// nil and blank strings are unset; numbers count as set.
func attrString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	default:
		return strings.TrimSpace(fmt.Sprint(x))
	}
}
