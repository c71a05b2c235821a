package clerk

import (
	"encoding/json"
	"fmt"
)

// Minimal is data as the sync needs it, and nothing else: the decoded
// event, encoded again. What the service does not use (phone numbers,
// private and unsafe metadata, external accounts, image urls, other email
// addresses than the primary) is dropped here, before the event reaches
// Temporal, where anyone with access to the namespace could read it in
// the workflow history for the whole retention period.
//
// The result decodes into the same types as data (the store applies it as
// it applied the full object), so a minimal event and the full one make
// the same change. Types the service does not handle are refused.
func Minimal(eventType string, data json.RawMessage) (json.RawMessage, error) {
	var v any
	var err error
	switch eventType {
	case UserCreated, UserUpdated:
		var u User
		if u, err = Decode(data, func(u User) string { return u.ID }); err == nil {
			u.EmailAddresses = primaryOnly(u)
			v = u
		}
	case UserDeleted, OrgDeleted:
		v, err = Decode(data, func(d Deleted) string { return d.ID })
	case OrgCreated, OrgUpdated:
		v, err = Decode(data, func(o Organization) string { return o.ID })
	case MembershipCreated, MembershipUpdated, MembershipDeleted:
		v, err = Decode(data, func(m Membership) string { return m.ID })
	case InvitationCreated, InvitationAccepted, InvitationRevoked:
		v, err = Decode(data, func(i Invitation) string { return i.ID })
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnknownType, eventType)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// primaryOnly keeps the primary email address alone: the one the sync
// writes to Intercom.
func primaryOnly(u User) []EmailAddress {
	if u.PrimaryEmailAddressID == nil {
		return nil
	}
	for _, e := range u.EmailAddresses {
		if e.ID == *u.PrimaryEmailAddressID {
			return []EmailAddress{e}
		}
	}
	return nil
}
