package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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
}

// ReadResyncConversation fetches the conversation (GET
// /conversations/{id}) for its member number, when the notification did
// not carry its custom attributes. A conversation that is gone is
// Found=false, not an error: asking again will not bring it back. It only
// reads, so a second run is harmless.
func (a *Activities) ReadResyncConversation(ctx context.Context, conversationID string) (ResyncConversation, error) {
	conv, err := a.Intercom.GetConversation(ctx, conversationID)
	if intercom.IsNotFound(err) {
		return ResyncConversation{}, nil
	}
	if err != nil {
		return ResyncConversation{}, classify(fmt.Errorf("get conversation %s: %w", conversationID, err))
	}
	return ResyncConversation{Found: true, MemberNumber: intercom.ConversationMemberNumber(conv.CustomAttributes)}, nil
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
func (a *Activities) LookupResyncMember(ctx context.Context, number string) (MemberLookup, error) {
	res := MemberLookup{MemberNumber: strings.TrimSpace(number)}
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

// ResyncContactRequest names the member (and, for the update, the contact)
// of a re-sync step.
type ResyncContactRequest struct {
	MemberNumber string `json:"member_number"`
	ContactID    string `json:"contact_id,omitempty"`
}

// ResyncPlan is the contact the member's data goes to and the duplicates
// to fold into it. Recorded in the history, it fixes the ids every later
// step works on, so a retried step cannot pick another survivor.
type ResyncPlan struct {
	// Outcome is ResyncReady, or why there is nothing to do (the member
	// changed in the member database since the lookup).
	Outcome   ResyncOutcome `json:"outcome"`
	ContactID string        `json:"contact_id,omitempty"`
	// How the contact was found.
	How ContactOrigin `json:"how,omitempty"`
	// FieldsWritten: the member data was written while making the
	// contact, so no update is needed unless something was folded in.
	FieldsWritten bool     `json:"fields_written,omitempty"`
	MergeLeads    []string `json:"merge_leads,omitempty"`
	ArchiveUsers  []string `json:"archive_users,omitempty"`
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
	ResyncDuplicate            ResyncOutcome = "duplicate" // a redelivered notification
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

// PrepareResyncContact finds the member's contacts by email and decides
// which one carries the member data:
//
//   - the survivor is a user: one with an external_id if any (another sync,
//     the Clerk one, addresses its contact by that id, so archiving it would
//     cut that link), then the most recently updated, then the most recently
//     created. The other users with the email are archived, not deleted, so
//     their history stays reachable;
//   - without a user, the most recently updated lead is made the user
//     (PUT role=user with the member data): it keeps its id and
//     conversations;
//   - without any contact, a user is created with the member data;
//   - the other leads are merged into the survivor. Leads that stand for a
//     pending invitation (external_id invitation_…) are left alone:
//     InviteContact owns them and folds them into the user when the
//     invitation is accepted.
//
// Search is eventually consistent: a contact created moments ago may be
// missing from it, and then creating (or converting) answers 409 naming
// it. That contact becomes the survivor (unarchived first if it is
// archived). Running this twice finds the survivor the first run made or
// chose, because it is then the most recently updated user.
func (a *Activities) PrepareResyncContact(ctx context.Context, req ResyncContactRequest) (ResyncPlan, error) {
	plan, err := a.prepareResyncContact(ctx, req.MemberNumber)
	if err != nil {
		a.Log.WithField("member_number", req.MemberNumber).Errorf("Tag-based sync could not prepare the contact: %v", err)
		return plan, classify(err)
	}
	a.Log.WithFields(logrus.Fields{
		"member_number": req.MemberNumber, "contact_id": plan.ContactID, "how": plan.How,
		"leads_to_merge": len(plan.MergeLeads), "users_to_archive": len(plan.ArchiveUsers), "outcome": plan.Outcome,
	}).Info("Chose the Intercom contact for tag-based sync")
	return plan, nil
}

func (a *Activities) prepareResyncContact(ctx context.Context, number string) (ResyncPlan, error) {
	m, outcome, err := a.resyncMember(ctx, number)
	if err != nil || outcome != ResyncReady {
		return ResyncPlan{Outcome: outcome}, err
	}
	contacts, err := a.contactsByEmail(ctx, m.Email)
	if err != nil {
		return ResyncPlan{}, fmt.Errorf("search contacts of member %s: %w", m.Number, err)
	}
	var users, leads []intercom.Contact
	for _, c := range contacts {
		switch {
		case c.Role == "user":
			users = append(users, c)
		case c.Role == "lead" && !pendingInvitation(c):
			leads = append(leads, c)
		}
	}
	plan := ResyncPlan{Outcome: ResyncReady}
	if len(users) > 0 {
		slices.SortFunc(users, survivorFirst)
		plan.ContactID, plan.How = users[0].ID, ContactExisting
	} else {
		positions, err := a.Positions.ForMember(ctx, m.Number)
		if err != nil {
			return ResyncPlan{}, fmt.Errorf("positions of member %s: %w", m.Number, err)
		}
		fields := a.memberFields(m, positions)
		fields["role"] = "user"
		if len(leads) > 0 {
			slices.SortFunc(leads, survivorFirst)
			plan.ContactID, plan.How, err = a.makeUser(ctx, leads[0].ID, fields)
		} else {
			fields["email"] = m.Email
			plan.ContactID, plan.How, err = a.createUser(ctx, fields)
		}
		if err != nil {
			return ResyncPlan{}, err
		}
		plan.FieldsWritten = true
	}
	for _, c := range users {
		if c.ID != plan.ContactID {
			plan.ArchiveUsers = append(plan.ArchiveUsers, c.ID)
		}
	}
	for _, c := range leads {
		if c.ID != plan.ContactID {
			plan.MergeLeads = append(plan.MergeLeads, c.ID)
		}
	}
	return plan, nil
}

// resyncMember reads the member again (the workflow's lookup only said the
// member exists: their data stays out of the history).
func (a *Activities) resyncMember(ctx context.Context, number string) (members.Member, ResyncOutcome, error) {
	m, err := a.Members.FindByNumber(ctx, number)
	if errors.Is(err, members.ErrNotFound) {
		return m, ResyncMemberNotFound, nil
	}
	if err != nil {
		return m, "", fmt.Errorf("look up member %s: %w", strings.TrimSpace(number), err)
	}
	if m.Email == "" {
		return m, ResyncMemberNoEmail, nil
	}
	return m, ResyncReady, nil
}

// pendingInvitation recognises the lead InviteContact made for an
// invitation not yet accepted.
func pendingInvitation(c intercom.Contact) bool {
	return c.ExternalID != nil && strings.HasPrefix(*c.ExternalID, InvitedExternalID(""))
}

// survivorFirst orders contacts best survivor first: with an external_id,
// then most recently updated, then most recently created, then by id so
// the order never depends on the search's.
func survivorFirst(x, y intercom.Contact) int {
	hasExt := func(c intercom.Contact) bool { return c.ExternalID != nil && *c.ExternalID != "" }
	if hx, hy := hasExt(x), hasExt(y); hx != hy {
		if hx {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(y.UpdatedAt, x.UpdatedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(y.CreatedAt, x.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(x.ID, y.ID)
}

// contactsByEmail returns every contact search finds with the email,
// compared case-insensitively (search excludes archived and merged-away
// contacts).
func (a *Activities) contactsByEmail(ctx context.Context, email string) ([]intercom.Contact, error) {
	var out []intercom.Contact
	after := ""
	for {
		page, err := a.Intercom.SearchContacts(ctx, intercom.Filter{Field: "email", Operator: "=", Value: email}, 50, after)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Data {
			if c.Email != nil && strings.EqualFold(strings.TrimSpace(*c.Email), email) {
				out = append(out, c)
			}
		}
		if page.Pages.Next == nil || page.Pages.Next.StartingAfter == "" || page.Pages.Next.StartingAfter == after {
			return out, nil
		}
		after = page.Pages.Next.StartingAfter
	}
}

// maxConflictHops bounds how many 409s in a row are followed: each names a
// contact search did not show yet; more than a couple means something
// else is wrong, and the retry (with a fresher search) takes over.
const maxConflictHops = 3

// createUser creates the user; a 409 means a contact with the email exists
// that search did not show, and that one is made the user instead.
func (a *Activities) createUser(ctx context.Context, fields intercom.Fields) (string, ContactOrigin, error) {
	var created *intercom.Contact
	err := a.withAttributes(ctx, "contact", func() (err error) {
		created, err = a.Intercom.CreateContact(ctx, fields)
		return err
	})
	if err == nil {
		return created.ID, ContactCreated, nil
	}
	existing, conflict := intercom.ConflictID(err)
	if !conflict || existing == "" {
		return "", "", fmt.Errorf("create contact: %w", err)
	}
	if intercom.ArchivedConflict(err) {
		if err := a.unarchive(ctx, existing); err != nil {
			return "", "", err
		}
	}
	delete(fields, "email") // the existing contact keeps its own spelling of it
	id, _, err := a.makeUser(ctx, existing, fields)
	return id, ContactExisting, err
}

// makeUser writes the member data and role=user to a contact (a lead
// becomes a user; a user is just updated). A 409 names a user with the
// email that search did not show: that one gets the data instead, and the
// contact at hand is left for the next run to fold in.
func (a *Activities) makeUser(ctx context.Context, id string, fields intercom.Fields) (string, ContactOrigin, error) {
	for hop := 0; ; hop++ {
		err := a.withAttributes(ctx, "contact", func() error {
			_, err := a.Intercom.UpdateContact(ctx, id, fields)
			return err
		})
		if err == nil {
			if hop == 0 {
				return id, ContactConverted, nil
			}
			return id, ContactExisting, nil
		}
		existing, conflict := intercom.ConflictID(err)
		if !conflict || existing == "" || existing == id || hop+1 >= maxConflictHops {
			return "", "", fmt.Errorf("make contact %s a user: %w", id, err)
		}
		if intercom.ArchivedConflict(err) {
			if err := a.unarchive(ctx, existing); err != nil {
				return "", "", err
			}
		}
		id = existing
	}
}

func (a *Activities) unarchive(ctx context.Context, id string) error {
	if err := a.Intercom.UnarchiveContact(ctx, id); err != nil {
		return fmt.Errorf("unarchive contact %s: %w", id, err)
	}
	return nil
}

// MergeRequest merges the lead From into the user Into.
type MergeRequest struct {
	From string `json:"from"`
	Into string `json:"into"`
}

// MergeLeadIntoUser is POST /contacts/merge. Run again after it succeeded
// (its answer lost), the lead is gone (404): that counts as done. A user
// that is gone is a failure no retry can fix: the plan is stale, and the
// agent's next tag makes a new one.
func (a *Activities) MergeLeadIntoUser(ctx context.Context, req MergeRequest) (StepOutcome, error) {
	log := a.Log.WithFields(logrus.Fields{"lead_id": req.From, "contact_id": req.Into})
	_, err := a.Intercom.MergeContacts(ctx, req.From, req.Into)
	if err == nil {
		log.Info("Merged lead into user for tag-based sync")
		return MergedLead, nil
	}
	if !intercom.IsNotFound(err) {
		return "", classify(fmt.Errorf("merge lead %s into user %s: %w", req.From, req.Into, err))
	}
	// Which of the two is gone? A merged-away lead answers 404.
	_, leadErr := a.Intercom.GetContact(ctx, req.From)
	if intercom.IsNotFound(leadErr) {
		log.Info("Lead already merged or deleted")
		return AlreadyDone, nil
	}
	if leadErr != nil {
		return "", classify(fmt.Errorf("get lead %s: %w", req.From, leadErr))
	}
	return "", temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("merge lead %s into user %s: the user no longer exists in Intercom", req.From, req.Into),
		ErrTypeVanished, err)
}

// ArchiveDuplicateUser is POST /contacts/{id}/archive for a user that
// duplicates the survivor. Archiving twice is harmless; a contact that is
// gone (404) counts as done.
func (a *Activities) ArchiveDuplicateUser(ctx context.Context, id string) (StepOutcome, error) {
	err := a.Intercom.ArchiveContact(ctx, id)
	if intercom.IsNotFound(err) {
		return AlreadyDone, nil
	}
	if err != nil {
		return "", classify(fmt.Errorf("archive duplicate user %s: %w", id, err))
	}
	a.Log.WithField("contact_id", id).Info("Archived duplicate user for tag-based sync")
	return ArchivedUser, nil
}

// UpdateResyncContact writes the member's current data to the surviving
// contact: the attributes and phone EnrichConversation writes. A PUT of
// the same data twice leaves the same contact. The member is read again,
// so the contact gets the newest data even on a retry hours later; a
// member gone meanwhile is the outcome ResyncMemberNotFound.
func (a *Activities) UpdateResyncContact(ctx context.Context, req ResyncContactRequest) (ResyncOutcome, error) {
	m, outcome, err := a.resyncMember(ctx, req.MemberNumber)
	if err != nil || outcome != ResyncReady {
		return outcome, err
	}
	positions, err := a.Positions.ForMember(ctx, m.Number)
	if err != nil {
		return "", fmt.Errorf("positions of member %s: %w", m.Number, err)
	}
	fields := a.memberFields(m, positions)
	err = a.withAttributes(ctx, "contact", func() error {
		_, err := a.Intercom.UpdateContact(ctx, req.ContactID, fields)
		return err
	})
	if intercom.IsNotFound(err) {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("update contact %s: the contact no longer exists in Intercom", req.ContactID), ErrTypeVanished, err)
	}
	if err != nil {
		return "", classify(fmt.Errorf("update contact %s: %w", req.ContactID, err))
	}
	return ResyncReady, nil
}

// UntagRequest removes the re-sync tag from a conversation. TagID is ""
// when the notification named the tag only (the conversation part shape);
// it is then found on the conversation by TagName.
type UntagRequest struct {
	ConversationID string `json:"conversation_id"`
	TagID          string `json:"tag_id,omitempty"`
	TagName        string `json:"tag_name"`
}

// RemoveConversationTag is DELETE /conversations/{id}/tags/{tag_id} on
// behalf of INTERCOM_ADMIN_ID (or the token's admin). A tag or
// conversation that is gone (404) counts as done. A retried attempt first
// looks whether the tag is still on the conversation, so a DELETE that
// succeeded but whose answer was lost is not sent again: the tag is
// removed exactly once.
func (a *Activities) RemoveConversationTag(ctx context.Context, req UntagRequest) (StepOutcome, error) {
	res, err := a.removeConversationTag(ctx, req)
	log := a.Log.WithFields(logrus.Fields{"conversation_id": req.ConversationID, "tag": req.TagName, "outcome": res})
	if err != nil {
		log.Errorf("Could not remove %s tag from conversation %s: %v", req.TagName, req.ConversationID, err)
		return "", err
	}
	if res == AlreadyDone {
		log.Warn("Tag already removed from conversation")
	}
	return res, nil
}

func (a *Activities) removeConversationTag(ctx context.Context, req UntagRequest) (StepOutcome, error) {
	adminID, err := a.adminID(ctx)
	if err != nil {
		return "", err
	}
	tagID := req.TagID
	if tagID == "" || activity.GetInfo(ctx).Attempt > 1 {
		conv, err := a.Intercom.GetConversation(ctx, req.ConversationID)
		if intercom.IsNotFound(err) {
			return AlreadyDone, nil
		}
		if err != nil {
			return "", classify(fmt.Errorf("get conversation %s: %w", req.ConversationID, err))
		}
		tagID = ""
		for _, t := range conv.Tags.Tags {
			if (req.TagID != "" && string(t.ID) == req.TagID) ||
				(req.TagID == "" && strings.EqualFold(strings.TrimSpace(t.Name), strings.TrimSpace(req.TagName))) {
				tagID = string(t.ID)
				break
			}
		}
		if tagID == "" {
			return AlreadyDone, nil
		}
	}
	err = a.Intercom.UntagConversation(ctx, req.ConversationID, tagID, adminID)
	if err == nil {
		return TagRemoved, nil
	}
	var ie *intercom.Error
	if errors.As(err, &ie) && ie.StatusCode == 404 {
		switch ie.Code {
		case "tag_not_found", "not_found": // the tag, or the whole conversation, is gone
			return AlreadyDone, nil
		case "admin_not_found":
			return "", temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("remove tag from conversation %s: Intercom does not know admin %s (INTERCOM_ADMIN_ID)",
					req.ConversationID, adminID), ErrTypeBadConfig, err)
		}
	}
	return "", classify(fmt.Errorf("remove tag %s from conversation %s: %w", tagID, req.ConversationID, err))
}

// adminCache holds the admin id GET /me answered, once per process: the
// token's admin does not change while the process runs.
type adminCache struct {
	mu sync.Mutex
	id string
}

// adminID is INTERCOM_ADMIN_ID, or the access token's own admin.
func (a *Activities) adminID(ctx context.Context) (string, error) {
	if a.AdminID != "" {
		return a.AdminID, nil
	}
	a.admin.mu.Lock()
	defer a.admin.mu.Unlock()
	if a.admin.id != "" {
		return a.admin.id, nil
	}
	me, err := a.Intercom.Me(ctx)
	if err != nil {
		return "", classify(fmt.Errorf("find the admin of the access token (GET /me; or set INTERCOM_ADMIN_ID): %w", err))
	}
	if me.ID == "" {
		return "", temporal.NewNonRetryableApplicationError(
			"GET /me answered no admin id; set INTERCOM_ADMIN_ID", ErrTypeBadConfig, nil)
	}
	a.admin.id = string(me.ID)
	return a.admin.id, nil
}
