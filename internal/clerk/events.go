// Package clerk decodes Clerk webhook deliveries (the `data` of each event
// type) into the fields the sync uses. Unknown fields are ignored: Clerk adds
// fields over time.
package clerk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/intercom-sync/intercom-sync/internal/entity"
)

// Event types the service handles.
const (
	UserCreated        = "user.created"
	UserUpdated        = "user.updated"
	UserDeleted        = "user.deleted"
	OrgCreated         = "organization.created"
	OrgUpdated         = "organization.updated"
	OrgDeleted         = "organization.deleted"
	MembershipCreated  = "organizationMembership.created"
	MembershipUpdated  = "organizationMembership.updated"
	MembershipDeleted  = "organizationMembership.deleted"
	InvitationCreated  = "organizationInvitation.created"
	InvitationAccepted = "organizationInvitation.accepted"
	InvitationRevoked  = "organizationInvitation.revoked"
)

// Envelope is the outer object of every delivery.
type Envelope struct {
	Type      string          `json:"type"`
	Object    string          `json:"object"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// ParseEnvelope decodes a delivery body and checks it has a type and data.
func ParseEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("malformed JSON: %w", err)
	}
	if e.Type == "" {
		return e, errors.New("missing event type")
	}
	if len(e.Data) == 0 || string(e.Data) == "null" || e.Data[0] != '{' {
		return e, errors.New("missing or non-object data")
	}
	return e, nil
}

// EmailAddress is one entry of a user's email_addresses.
type EmailAddress struct {
	ID           string `json:"id"`
	EmailAddress string `json:"email_address"`
}

// User is the data of user.created and user.updated.
type User struct {
	ID                    string         `json:"id"`
	FirstName             *string        `json:"first_name"`
	LastName              *string        `json:"last_name"`
	EmailAddresses        []EmailAddress `json:"email_addresses"`
	PrimaryEmailAddressID *string        `json:"primary_email_address_id"`
	CreatedAt             int64          `json:"created_at"` // Unix milliseconds
	UpdatedAt             int64          `json:"updated_at"` // Unix milliseconds
}

// PrimaryEmail returns the address whose id is primary_email_address_id, not
// the first in the list (Clerk does not keep the primary first).
func (u User) PrimaryEmail() string {
	if u.PrimaryEmailAddressID == nil {
		return ""
	}
	for _, e := range u.EmailAddresses {
		if e.ID == *u.PrimaryEmailAddressID {
			return strings.TrimSpace(e.EmailAddress)
		}
	}
	return ""
}

// FullName joins first and last name with a space, leaving out null or
// empty parts.
func (u User) FullName() string { return FullName(u.FirstName, u.LastName) }

// FullName joins the non-empty parts of a name with a space.
func FullName(first, last *string) string {
	var parts []string
	for _, p := range []*string{first, last} {
		if p != nil && strings.TrimSpace(*p) != "" {
			parts = append(parts, strings.TrimSpace(*p))
		}
	}
	return strings.Join(parts, " ")
}

// Organization is the data of organization.created/updated, and the
// organization embedded in membership events.
type Organization struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
}

// Membership is the data of organizationMembership.* (the deleted event
// carries the full object too).
type Membership struct {
	ID             string       `json:"id"`
	Role           string       `json:"role"`
	Organization   Organization `json:"organization"`
	PublicUserData struct {
		UserID string `json:"user_id"`
	} `json:"public_user_data"`
	CreatedAt int64 `json:"created_at"`
	UpdatedAt int64 `json:"updated_at"`
}

// Invitation is the data of organizationInvitation.*.
type Invitation struct {
	ID             string `json:"id"`
	EmailAddress   string `json:"email_address"`
	OrganizationID string `json:"organization_id"`
	Status         string `json:"status"`
	Role           string `json:"role"`
	UserID         string `json:"user_id"` // only on accepted
	CreatedAt      int64  `json:"created_at"`
	UpdatedAt      int64  `json:"updated_at"`
}

// Deleted is the data of user.deleted and organization.deleted.
type Deleted struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
	Object  string `json:"object"`
}

// Decode unmarshals data into v and checks the entity id is present.
func Decode[T any](data []byte, id func(T) string) (T, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("malformed data: %w", err)
	}
	if id(v) == "" {
		return v, errors.New("data has no id")
	}
	return v, nil
}

// Delivery is one verified Clerk webhook as the workflows receive it: the
// svix-id (the idempotency key, stable across redeliveries), the event type,
// the entity it belongs to and the raw data.
type Delivery struct {
	SvixID   string          `json:"svix_id"`
	Type     string          `json:"type"`
	EntityID string          `json:"entity_id"`
	Data     json.RawMessage `json:"data"`
}

// ErrUnknownType marks an event type the service does not handle.
var ErrUnknownType = errors.New("unknown event type")

// Route tells which entity an event belongs to. Membership events belong
// to the user (they change which companies the user's contact is attached
// to). It returns ErrUnknownType for types the service ignores, and an error
// for known types whose data lacks the ids routing needs.
func Route(e Envelope) (kind entity.Kind, entityID string, err error) {
	switch e.Type {
	case UserCreated, UserUpdated, UserDeleted:
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil || d.ID == "" {
			return "", "", errors.New("user event without data.id")
		}
		return entity.User, d.ID, nil
	case OrgCreated, OrgUpdated, OrgDeleted:
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil || d.ID == "" {
			return "", "", errors.New("organization event without data.id")
		}
		return entity.Organization, d.ID, nil
	case MembershipCreated, MembershipUpdated, MembershipDeleted:
		m, err := Decode(e.Data, func(m Membership) string { return m.ID })
		if err != nil {
			return "", "", fmt.Errorf("membership event: %w", err)
		}
		if m.PublicUserData.UserID == "" || m.Organization.ID == "" {
			return "", "", errors.New("membership event without public_user_data.user_id or organization.id")
		}
		return entity.User, m.PublicUserData.UserID, nil
	case InvitationCreated, InvitationAccepted, InvitationRevoked:
		inv, err := Decode(e.Data, func(i Invitation) string { return i.ID })
		if err != nil {
			return "", "", fmt.Errorf("invitation event: %w", err)
		}
		if e.Type == InvitationAccepted && inv.UserID == "" {
			return "", "", errors.New("organizationInvitation.accepted without user_id")
		}
		return entity.Invitation, inv.ID, nil
	default:
		return "", "", ErrUnknownType
	}
}
