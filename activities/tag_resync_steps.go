package activities

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// The tag-based re-sync's steps after the plan: merge, archive, update,
// and untag; each idempotent for the retry of its own attempt.

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
	// The survivor is a user, and an agent asked for this member: verified.
	fields := a.memberFields(m, positions, true)
	err = a.withAttributes(ctx, "contact", fields, func(fields intercom.Fields) error {
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
	if !intercom.IsNotFound(err) {
		return "", classify(fmt.Errorf("remove tag %s from conversation %s: %w", tagID, req.ConversationID, err))
	}
	// 404 is Intercom's answer both when the tag (or the conversation) is
	// gone and when it does not know the admin (no admin_not_found in the
	// spec): done only if the conversation no longer carries the tag.
	has, cerr := a.Intercom.ConversationHasTag(ctx, req.ConversationID, tagID)
	if intercom.IsNotFound(cerr) || cerr == nil && !has {
		return AlreadyDone, nil
	}
	if cerr != nil {
		return "", classify(fmt.Errorf("get conversation %s: %w", req.ConversationID, cerr))
	}
	return "", temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("remove tag from conversation %s: Intercom answered 404 while the conversation still carries the tag; "+
			"does admin %s exist (INTERCOM_ADMIN_ID)? %v", req.ConversationID, adminID, err), ErrTypeBadConfig, err)
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
