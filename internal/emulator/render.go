package emulator

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// This file turns state into the JSON objects of the 2.11 schemas. Maps are
// used so nullable fields can be emitted as explicit nulls: the schemas mark
// most contact fields as required-but-nullable, and a client must cope with
// the nulls Intercom really sends.

type obj = map[string]any

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(i int64) any {
	if i == 0 {
		return nil
	}
	return i
}

func (s *Server) renderContact(c *Contact) obj {
	base := "/contacts/" + c.ID
	var avatar any
	if c.Avatar != "" {
		avatar = obj{"type": "avatar", "image_url": c.Avatar}
	}
	tags := make([]any, 0, len(c.TagIDs))
	for _, id := range c.TagIDs {
		tags = append(tags, obj{"type": "tag", "id": id, "url": "/tags/" + id})
	}
	companies := make([]any, 0, len(c.CompanyIDs))
	for _, id := range c.CompanyIDs {
		companies = append(companies, obj{"type": "company", "id": id, "url": "/companies/" + id})
	}
	emailDomain := ""
	if _, domain, ok := strings.Cut(c.Email, "@"); ok {
		emailDomain = domain
	}
	out := obj{
		"type":                     "contact",
		"id":                       c.ID,
		"workspace_id":             WorkspaceID,
		"external_id":              nullStr(c.ExternalID),
		"role":                     c.Role,
		"email":                    c.Email, // the schema types email as a non-null string
		"email_domain":             emailDomain,
		"phone":                    nullStr(c.Phone),
		"formatted_phone":          nullStr(c.Phone),
		"name":                     nullStr(c.Name),
		"avatar":                   avatar,
		"owner_id":                 nullInt(c.OwnerID),
		"social_profiles":          obj{"type": "list", "data": []any{}},
		"has_hard_bounced":         false,
		"marked_email_as_spam":     false,
		"unsubscribed_from_emails": c.UnsubscribedFromEmails,
		"created_at":               c.CreatedAt,
		"updated_at":               c.UpdatedAt,
		"signed_up_at":             nullInt(c.SignedUpAt),
		"last_seen_at":             nullInt(c.LastSeenAt),
		"last_replied_at":          nil,
		"last_contacted_at":        nil,
		"last_email_opened_at":     nil,
		"last_email_clicked_at":    nil,
		"language_override":        nil,
		"browser":                  nil,
		"browser_version":          nil,
		"browser_language":         nil,
		"os":                       nil,
		"location": obj{"type": "location", "country": nil, "region": nil, "city": nil,
			"country_code": nil, "continent_code": nil},
		"android_app_name":             nil,
		"android_app_version":          nil,
		"android_device":               nil,
		"android_os_version":           nil,
		"android_sdk_version":          nil,
		"android_last_seen_at":         nil,
		"ios_app_name":                 nil,
		"ios_app_version":              nil,
		"ios_device":                   nil,
		"ios_os_version":               nil,
		"ios_sdk_version":              nil,
		"ios_last_seen_at":             nil,
		"custom_attributes":            cloneAttrs(c.CustomAttributes),
		"tags":                         s.cappedRefList(tags, base+"/tags"),
		"notes":                        refList([]any{}, base+"/notes"),
		"companies":                    s.cappedRefList(companies, base+"/companies"),
		"opted_out_subscription_types": refList([]any{}, base+"/subscriptions"),
		"opted_in_subscription_types":  refList([]any{}, base+"/subscriptions"),
		"utm_campaign":                 nil,
		"utm_content":                  nil,
		"utm_medium":                   nil,
		"utm_source":                   nil,
		"utm_term":                     nil,
		"referrer":                     nil,
	}
	return out
}

// refList is Intercom's embedded reference list ({type:list,data:[{type,id,
// url}],url,total_count,has_more}); it never embeds whole objects.
func refList(data []any, url string) obj {
	return obj{"type": "list", "data": data, "url": url, "total_count": len(data), "has_more": false}
}

// maxEmbedded is how many companies and tags a contact object embeds: "Up
// to 10 will be displayed here. Use the url to get more" (spec schemas
// contact_companies and contact_tags).
const maxEmbedded = 10

// cappedRefList is refList holding at most maxEmbedded entries (unless
// Loose.FullEmbeddedLists), total_count and has_more telling about the
// rest.
func (s *Server) cappedRefList(data []any, url string) obj {
	out := refList(data, url)
	if len(data) > maxEmbedded && !s.opts.Loose.FullEmbeddedLists {
		out["data"] = data[:maxEmbedded]
		out["has_more"] = true
	}
	return out
}

func (s *Server) renderCompany(c *Company) obj {
	tags := make([]any, 0, len(c.TagIDs))
	for _, id := range c.TagIDs {
		if t := s.st.tags[id]; t != nil {
			tags = append(tags, renderTagBasic(t))
		}
	}
	// The schema requires last_request_at, size, website and industry as
	// non-null values (README defect 3: the spec's own examples omit them),
	// so unknown values are sent as 0 / "".
	out := obj{
		"type":              "company",
		"id":                c.ID,
		"name":              c.Name,
		"app_id":            WorkspaceID,
		"company_id":        c.CompanyID,
		"remote_created_at": c.RemoteCreatedAt,
		"created_at":        c.CreatedAt,
		"updated_at":        c.UpdatedAt,
		"last_request_at":   s.st.lastRequestAt(c),
		"monthly_spend":     c.MonthlySpend,
		"session_count":     int64(0),
		"user_count":        len(c.ContactIDs),
		"size":              c.Size,
		"website":           c.Website,
		"industry":          c.Industry,
		"custom_attributes": cloneAttrs(c.CustomAttributes),
		"tags":              obj{"type": "tag.list", "tags": tags},
		"segments":          obj{"type": "segment.list", "segments": []any{}},
	}
	if c.Plan != "" {
		out["plan"] = obj{"type": "plan", "id": planID(c.Plan), "name": c.Plan}
	}
	return out
}

// planID is a stable numeric id for a plan name, as Intercom turns the
// plan string of a request into a plan object; nothing reads it back.
func planID(name string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

func renderTagBasic(t *Tag) obj {
	return obj{"type": "tag", "id": t.ID, "name": t.Name}
}

// renderTag is the `tag` schema: applied_at/applied_by are required but
// nullable, so a tag that is not applied to anything carries nulls.
func renderTag(t *Tag, appliedAt int64, appliedBy string) obj {
	out := obj{"type": "tag", "id": t.ID, "name": t.Name, "applied_at": nil, "applied_by": nil}
	if appliedAt != 0 {
		out["applied_at"] = appliedAt
	}
	if appliedBy != "" {
		out["applied_by"] = obj{"type": "admin", "id": appliedBy}
	}
	return out
}

func renderAuthor(a Author) obj {
	// name is nullable; email is a required non-null string.
	return obj{"type": a.Type, "id": a.ID, "name": nullStr(a.Name), "email": a.Email}
}

func (s *Server) renderConversation(c *Conversation) obj {
	st := s.st
	contacts := make([]any, 0, len(c.Contacts))
	for _, ref := range c.Contacts {
		ext := ref.ExternalID
		if ct := st.contacts[ref.ID]; ct != nil {
			ext = ct.ExternalID
		}
		contacts = append(contacts, obj{"type": "contact", "id": ref.ID, "external_id": nullStr(ext)})
	}
	tags := make([]any, 0, len(c.TagIDs))
	for _, id := range c.TagIDs {
		if t := st.tags[id]; t != nil {
			app := c.tagApplied[id]
			tags = append(tags, renderTag(t, app.at, app.adminID))
		}
	}
	parts := make([]any, 0, len(c.Parts))
	for _, p := range c.Parts {
		parts = append(parts, obj{
			"type":        "conversation_part",
			"id":          p.ID,
			"part_type":   p.PartType,
			"body":        nullStr(p.Body),
			"created_at":  p.CreatedAt,
			"updated_at":  p.UpdatedAt,
			"notified_at": p.CreatedAt,
			"author":      renderAuthor(p.Author),
			"attachments": []any{},
			"external_id": nullStr(p.ExternalID),
			"redacted":    false,
		})
	}
	// Intercom returns at most the 500 most recent parts.
	if len(parts) > 500 {
		parts = parts[len(parts)-500:]
	}
	src := c.Source
	// teammates, first_contact_reply, statistics, sla_applied, ai_agent and
	// conversation_rating are non-nullable objects in the schema (README
	// defect 3): teammates is required so it is an empty list, the others
	// are optional and left out rather than sent as null.
	return obj{
		"type":              "conversation",
		"id":                c.ID,
		"title":             nullStr(c.Title),
		"created_at":        c.CreatedAt,
		"updated_at":        c.UpdatedAt,
		"waiting_since":     nullInt(c.WaitingSince),
		"snoozed_until":     nullInt(c.SnoozedUntil),
		"open":              c.State == "open",
		"state":             c.State,
		"read":              c.Read,
		"priority":          c.Priority,
		"admin_assignee_id": nullInt(c.AdminAssigneeID),
		"team_assignee_id":  nullInt(c.TeamAssigneeID),
		"tags":              obj{"type": "tag.list", "tags": tags},
		"source": obj{
			"type":         src.Type,
			"id":           src.ID,
			"delivered_as": src.DeliveredAs,
			"subject":      src.Subject,
			"body":         src.Body,
			"author":       renderAuthor(src.Author),
			"attachments":  []any{},
			"url":          nullStr(src.URL),
			"redacted":     false,
		},
		"contacts":              obj{"type": "contact.list", "contacts": contacts},
		"teammates":             obj{"type": "admin.list", "teammates": []any{}},
		"custom_attributes":     cloneAttrs(c.CustomAttributes),
		"topics":                obj{"type": "topic.list", "topics": []any{}, "total_count": 0},
		"ai_agent_participated": false,
		"conversation_parts": obj{
			"type":               "conversation_part.list",
			"conversation_parts": parts,
			"total_count":        len(c.Parts),
		},
	}
}

func renderDataAttribute(a *DataAttribute) obj {
	out := obj{
		"type":               "data_attribute",
		"model":              a.Model,
		"name":               a.Name,
		"full_name":          a.FullName,
		"label":              a.Label,
		"description":        a.Description,
		"data_type":          a.DataType,
		"api_writable":       a.APIWritable,
		"ui_writable":        a.UIWritable,
		"messenger_writable": a.MessengerWritable,
		"custom":             a.Custom,
		"archived":           a.Archived,
	}
	if a.ID != 0 {
		out["id"] = a.ID
	}
	if len(a.Options) > 0 {
		out["options"] = append([]string(nil), a.Options...)
	}
	if a.AdminID != "" {
		out["admin_id"] = a.AdminID
	}
	if a.CreatedAt != 0 {
		out["created_at"] = a.CreatedAt
		out["updated_at"] = a.UpdatedAt
	}
	return out
}
