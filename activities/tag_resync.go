package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
)

// The tag-based re-sync (workflow TagResync): a support agent fills the
// conversation attribute "Member Number Verification" and tags the
// conversation; the member's email then gets one user contact carrying the
// member data, its duplicates are folded into it, and the tag is removed.
//
// It is split into steps so that a failure half-way resumes where it
// stopped: the workflow records each step's result, and each step is
// idempotent for the retry of its own attempt. Member data (email, phone)
// never travels between steps: each step that needs it reads the member
// database itself, so it stays out of the workflow history.

// ResyncConversation is what the re-sync read from the tagged
// conversation.
type ResyncConversation struct {
	Found        bool   `json:"found"`
	MemberNumber string `json:"member_number,omitempty"`
	// InvalidMemberNumber: the attribute is filled in, but not with a
	// member number (members.ValidNumber). MemberNumber is then empty:
	// what was typed stays out of the history and the logs.
	InvalidMemberNumber bool `json:"invalid_member_number,omitempty"`
}

// ReadResyncConversation fetches the conversation (GET
// /conversations/{id}) for its member number: Intercom's, not what a
// webhook body claims. A conversation that is gone is Found=false, and a
// member number that is not one is InvalidMemberNumber (counted in
// intercom_sync_member_numbers_invalid_total), not errors: asking again
// will not change them. It only reads, so a second run is harmless.
func (a *Activities) ReadResyncConversation(ctx context.Context, conversationID string) (ResyncConversation, error) {
	conv, err := a.Intercom.GetConversation(ctx, conversationID)
	if intercom.IsNotFound(err) {
		return ResyncConversation{}, nil
	}
	if err != nil {
		return ResyncConversation{}, classify(fmt.Errorf("get conversation %s: %w", conversationID, err))
	}
	number := intercom.ConversationMemberNumber(conv.CustomAttributes)
	if number != "" && !members.ValidNumber(number) {
		a.refuseMemberNumber(conversationID, number)
		return ResyncConversation{Found: true, InvalidMemberNumber: true}, nil
	}
	return ResyncConversation{Found: true, MemberNumber: number}, nil
}

// refuseMemberNumber counts and logs a member number that is not one; the
// log says how long it was, never what it was (an agent may have pasted
// anything, an email or a phone).
func (a *Activities) refuseMemberNumber(conversationID, number string) {
	a.Metrics.MemberNumbersInvalid.Inc()
	a.Log.WithFields(logrus.Fields{"conversation_id": conversationID, "length": len(number)}).
		Warnf("Refused member number: not 1 to %d digits", members.MaxNumberLen)
}

// MemberLookup says whether a member number names a member the re-sync
// can use. It carries no personal data: it is recorded in the workflow
// history.
type MemberLookup struct {
	MemberNumber string `json:"member_number"`
	Found        bool   `json:"found"`
	HasEmail     bool   `json:"has_email"`
}

// LookupResyncMember looks the member number up in the member database
// (Active and Retired members only). A database error is returned as is,
// for the retry policy. It only reads.
//
// A number that is not a member number (members.ValidNumber) is not
// looked up: Found=false, counted like ReadResyncConversation's. Runs
// started before the number was re-read from Intercom bring one from the
// webhook body.
func (a *Activities) LookupResyncMember(ctx context.Context, number string) (MemberLookup, error) {
	if !members.ValidNumber(number) {
		a.refuseMemberNumber("", number)
		return MemberLookup{}, nil
	}
	res := MemberLookup{MemberNumber: number}
	m, err := a.Members.FindByNumber(ctx, number)
	if errors.Is(err, members.ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("look up member %s: %w", res.MemberNumber, err)
	}
	res.MemberNumber, res.Found, res.HasEmail = m.Number, true, m.Email != ""
	return res, nil
}

// ResyncOutcome is what a tag-based re-sync came to: the plan's and the
// contact update's outcome (set here), and the workflow's (TagResync).
// Every one but ResyncSynced leaves the tag on the conversation, so the
// agent sees the re-sync did not happen.
type ResyncOutcome string

const (
	ResyncReady          ResyncOutcome = "ready" // a step's: go on
	ResyncMemberNotFound ResyncOutcome = "member_not_found"
	ResyncMemberNoEmail  ResyncOutcome = "member_has_no_email"

	ResyncSynced               ResyncOutcome = "synced"
	ResyncNoMemberNumber       ResyncOutcome = "no_member_number"
	ResyncConversationNotFound ResyncOutcome = "conversation_not_found"
	// ResyncInvalidMemberNumber: the conversation's member number is not
	// 1 to members.MaxNumberLen digits; the agent must correct it.
	ResyncInvalidMemberNumber ResyncOutcome = "invalid_member_number"
	ResyncDuplicate           ResyncOutcome = "duplicate" // a redelivered notification
)

// ContactOrigin is how the re-sync found the member's contact.
type ContactOrigin string

const (
	ContactCreated   ContactOrigin = "created"
	ContactConverted ContactOrigin = "converted" // a lead became the user
	ContactExisting  ContactOrigin = "existing"
)

// StepOutcome is what one fold-in step (merge, archive, untag) did.
type StepOutcome string

const (
	MergedLead   StepOutcome = "merged"
	ArchivedUser StepOutcome = "archived"
	TagRemoved   StepOutcome = "removed"
	AlreadyDone  StepOutcome = "already_done" // merged, archived or removed before (e.g. by an earlier attempt)
)

// Error types of the re-sync's non-retryable failures.
const (
	// ErrTypeVanished: a contact the plan names was deleted meanwhile; the
	// plan is stale and only a new run (a new tag) can make another.
	ErrTypeVanished = "IntercomContactVanished"
	// ErrTypeBadConfig: a setting is wrong (INTERCOM_ADMIN_ID).
	ErrTypeBadConfig = "BadConfiguration"
)
