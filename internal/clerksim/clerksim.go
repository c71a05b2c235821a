// Package clerksim builds and signs Clerk webhook deliveries the way Clerk
// (through Svix) sends them. Tests and the `demo` subcommand use it.
package clerksim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// Sender posts signed deliveries to a Clerk webhook endpoint.
type Sender struct {
	URL    string // e.g. http://127.0.0.1:8080/webhooks/clerk
	Secret string // whsec_…
	HTTP   *http.Client
}

// Send signs body as svixID, now, and posts it.
func (s Sender) Send(ctx context.Context, svixID string, body []byte) (*http.Response, error) {
	return s.SendAt(ctx, svixID, time.Now(), body)
}

// SendAt signs with the given timestamp (Svix rejects one over 5 minutes
// off).
func (s Sender) SendAt(ctx context.Context, svixID string, ts time.Time, body []byte) (*http.Response, error) {
	h, err := Headers(s.Secret, svixID, ts, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h
	c := s.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	return c.Do(req)
}

// Headers returns the svix-* headers of a delivery.
func Headers(secret, svixID string, ts time.Time, body []byte) (http.Header, error) {
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	sig, err := wh.Sign(svixID, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("svix-id", svixID)
	h.Set("svix-timestamp", fmt.Sprint(ts.Unix()))
	h.Set("svix-signature", sig)
	return h, nil
}

func envelope(typ string, data any) []byte {
	b, err := json.Marshal(map[string]any{
		"data": data, "object": "event", "type": typ,
		"timestamp":        time.Now().UnixMilli(),
		"instance_id":      "ins_sim",
		"event_attributes": map[string]any{"http_request": map[string]string{"client_ip": "", "user_agent": ""}},
	})
	if err != nil {
		panic(err) // only maps of plain values
	}
	return b
}

// User describes a Clerk user for UserEvent.
type User struct {
	ID, Email, FirstName, LastName string
	CreatedAtMs, UpdatedAtMs       int64
}

// UserEvent is a user.created or user.updated body. The primary address is
// put second, after a secondary one, as Clerk may.
func UserEvent(typ string, u User) []byte {
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	emails := []map[string]any{{"id": "idn_old_" + u.ID, "email_address": "old." + u.Email, "object": "email_address"}}
	var primary any
	if u.Email != "" {
		emails = append(emails, map[string]any{"id": "idn_" + u.ID, "email_address": u.Email, "object": "email_address"})
		primary = "idn_" + u.ID
	}
	return envelope(typ, map[string]any{
		"id": u.ID, "object": "user", "first_name": nullable(u.FirstName), "last_name": nullable(u.LastName),
		"email_addresses": emails, "primary_email_address_id": primary,
		"created_at": u.CreatedAtMs, "updated_at": u.UpdatedAtMs,
	})
}

// Org describes a Clerk organization.
type Org struct {
	ID, Name, Slug           string
	CreatedAtMs, UpdatedAtMs int64
}

func orgData(o Org) map[string]any {
	return map[string]any{"id": o.ID, "object": "organization", "name": o.Name, "slug": o.Slug,
		"created_at": o.CreatedAtMs, "updated_at": o.UpdatedAtMs}
}

// OrgEvent is an organization.created or organization.updated body.
func OrgEvent(typ string, o Org) []byte { return envelope(typ, orgData(o)) }

// DeletedEvent is a user.deleted or organization.deleted body.
func DeletedEvent(typ, id, object string) []byte {
	return envelope(typ, map[string]any{"id": id, "object": object, "deleted": true})
}

// Membership describes an organization membership.
type Membership struct {
	ID, UserID, Role         string
	Org                      Org
	CreatedAtMs, UpdatedAtMs int64
}

// MembershipEvent is an organizationMembership.* body (deleted carries the
// full object too).
func MembershipEvent(typ string, m Membership) []byte {
	role := m.Role
	if role == "" {
		role = "org:member"
	}
	return envelope(typ, map[string]any{
		"id": m.ID, "object": "organization_membership", "role": role,
		"organization":     orgData(m.Org),
		"public_user_data": map[string]any{"user_id": m.UserID, "identifier": "", "first_name": nil, "last_name": nil},
		"created_at":       m.CreatedAtMs, "updated_at": m.UpdatedAtMs,
	})
}

// Invitation describes an organization invitation.
type Invitation struct {
	ID, OrgID, Email, Status, UserID string
	CreatedAtMs, UpdatedAtMs         int64
}

// InvitationEvent is an organizationInvitation.* body; accepted carries
// user_id.
func InvitationEvent(typ string, i Invitation) []byte {
	d := map[string]any{
		"id": i.ID, "object": "organization_invitation", "email_address": i.Email,
		"organization_id": i.OrgID, "status": i.Status, "role": "org:member",
		"created_at": i.CreatedAtMs, "updated_at": i.UpdatedAtMs, "expires_at": i.CreatedAtMs + 30*24*3600*1000,
	}
	if i.UserID != "" {
		d["user_id"] = i.UserID
	}
	return envelope(typ, d)
}
