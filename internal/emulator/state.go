package emulator

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// State is a deep copy of everything the emulator holds, as returned by
// Snapshot and GET /_emulator/state. Slices are in creation order.
type State struct {
	Contacts       []Contact       `json:"contacts"`
	Companies      []Company       `json:"companies"`
	Tags           []Tag           `json:"tags"`
	Conversations  []Conversation  `json:"conversations"`
	DataAttributes []DataAttribute `json:"data_attributes"`
	Counters       Counters        `json:"counters"`
}

// Contact is a contact (user or lead). Empty strings and zero timestamps
// stand for Intercom's nulls.
type Contact struct {
	ID                     string         `json:"id"`
	Role                   string         `json:"role"`
	ExternalID             string         `json:"external_id,omitempty"`
	Email                  string         `json:"email,omitempty"`
	Phone                  string         `json:"phone,omitempty"`
	Name                   string         `json:"name,omitempty"`
	Avatar                 string         `json:"avatar,omitempty"`
	OwnerID                int64          `json:"owner_id,omitempty"`
	SignedUpAt             int64          `json:"signed_up_at,omitempty"`
	LastSeenAt             int64          `json:"last_seen_at,omitempty"`
	UnsubscribedFromEmails bool           `json:"unsubscribed_from_emails,omitempty"`
	CustomAttributes       map[string]any `json:"custom_attributes"`
	TagIDs                 []string       `json:"tag_ids"`
	CompanyIDs             []string       `json:"company_ids"`
	Archived               bool           `json:"archived,omitempty"`
	// MergedInto is set on a lead that was merged into a user; such a
	// contact is invisible to the API (404, absent from search and lists).
	MergedInto string `json:"merged_into,omitempty"`
	CreatedAt  int64  `json:"created_at"`
	UpdatedAt  int64  `json:"updated_at"`

	seq        int64            // creation order; drives list order and cursors
	created    time.Time        // precise creation time, for the search lag
	tagApplied map[string]int64 // tag id -> applied_at
	// written and indexed model the search index lag of updates
	// (index.go): the time of the last write and the values search still
	// sees until that write is SearchIndexDelay old.
	written time.Time
	indexed *Contact
}

// Company is a company; ContactIDs are the attached contacts.
type Company struct {
	ID               string         `json:"id"`
	CompanyID        string         `json:"company_id"`
	Name             string         `json:"name,omitempty"`
	Plan             string         `json:"plan,omitempty"`
	Size             int64          `json:"size,omitempty"`
	Website          string         `json:"website,omitempty"`
	Industry         string         `json:"industry,omitempty"`
	MonthlySpend     int64          `json:"monthly_spend,omitempty"`
	RemoteCreatedAt  int64          `json:"remote_created_at,omitempty"`
	CustomAttributes map[string]any `json:"custom_attributes"`
	ContactIDs       []string       `json:"contact_ids"`
	TagIDs           []string       `json:"tag_ids"`
	UserCount        int            `json:"user_count"`
	CreatedAt        int64          `json:"created_at"`
	UpdatedAt        int64          `json:"updated_at"`

	seq int64
}

// Tag is a workspace tag. Intercom tag ids are numeric strings.
type Tag struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Conversation is a conversation. It is also the input of SeedConversation
// and POST /_emulator/conversations, where empty fields get defaults.
type Conversation struct {
	ID               string             `json:"id"`
	Title            string             `json:"title,omitempty"`
	State            string             `json:"state"` // open | closed | snoozed
	Read             bool               `json:"read"`
	Priority         string             `json:"priority"` // priority | not_priority
	AdminAssigneeID  int64              `json:"admin_assignee_id,omitempty"`
	TeamAssigneeID   int64              `json:"team_assignee_id,omitempty"`
	CreatedAt        int64              `json:"created_at"`
	UpdatedAt        int64              `json:"updated_at"`
	WaitingSince     int64              `json:"waiting_since,omitempty"`
	SnoozedUntil     int64              `json:"snoozed_until,omitempty"`
	Source           ConversationSource `json:"source"`
	Contacts         []ContactRef       `json:"contacts"`
	TagIDs           []string           `json:"tag_ids"`
	CustomAttributes map[string]any     `json:"custom_attributes"`
	Parts            []ConversationPart `json:"parts"`

	seq        int64
	tagApplied map[string]tagApplication
}

// ConversationSource is the message that started a conversation.
type ConversationSource struct {
	Type        string `json:"type"` // conversation, email, ...
	ID          string `json:"id"`
	DeliveredAs string `json:"delivered_as"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	URL         string `json:"url,omitempty"`
	Author      Author `json:"author"`
}

// Author of a conversation source or part.
type Author struct {
	Type  string `json:"type"` // user, lead, admin, bot, team
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// ContactRef is a contact taking part in a conversation.
type ContactRef struct {
	ID         string `json:"id"`
	ExternalID string `json:"external_id,omitempty"`
}

// ConversationPart is one reply, note or action in a conversation.
type ConversationPart struct {
	ID         string `json:"id"`
	PartType   string `json:"part_type"`
	Body       string `json:"body,omitempty"`
	CreatedAt  int64  `json:"created_at"`
	UpdatedAt  int64  `json:"updated_at"`
	Author     Author `json:"author"`
	ExternalID string `json:"external_id,omitempty"`
}

type tagApplication struct {
	at      int64
	adminID string
}

// DataAttribute describes a standard or custom attribute of a model.
// Standard attributes have ID 0 and Custom false.
type DataAttribute struct {
	ID                int64    `json:"id,omitempty"`
	Model             string   `json:"model"` // contact | company | conversation
	Name              string   `json:"name"`
	FullName          string   `json:"full_name"`
	Label             string   `json:"label"`
	Description       string   `json:"description"`
	DataType          string   `json:"data_type"`
	Options           []string `json:"options,omitempty"`
	APIWritable       bool     `json:"api_writable"`
	UIWritable        bool     `json:"ui_writable"`
	MessengerWritable bool     `json:"messenger_writable"`
	Custom            bool     `json:"custom"`
	Archived          bool     `json:"archived"`
	AdminID           string   `json:"admin_id,omitempty"`
	CreatedAt         int64    `json:"created_at,omitempty"`
	UpdatedAt         int64    `json:"updated_at,omitempty"`
}

// Counters describe the traffic the emulator saw since the last reset.
// Requests, Writes and ByEndpoint count only calls that reached the API
// logic (whatever their outcome); rejected calls are counted separately.
type Counters struct {
	Requests int64 `json:"requests"`
	// Writes are non-GET calls except POST /contacts/search and POST
	// /companies/list, which only read despite their method.
	Writes int64 `json:"writes"`
	// ByEndpoint maps "METHOD /path-template" (e.g.
	// "PUT /contacts/{contact_id}") to a count.
	ByEndpoint map[string]int64 `json:"by_endpoint"`
	// RateLimited counts 429s from the rate limiter (not injected ones).
	RateLimited int64 `json:"rate_limited"`
	// FaultsInjected counts injected 500s and 429s; SlowInjected counts
	// delayed calls (which then proceed normally).
	FaultsInjected int64 `json:"faults_injected"`
	SlowInjected   int64 `json:"slow_injected"`
	// Unauthorized counts 401s.
	Unauthorized int64 `json:"unauthorized"`
}

// store is the mutable state; every access holds Server.mu.
type store struct {
	contacts map[string]*Contact
	// contactOrder holds the same contacts in creation order, so lists,
	// search and duplicate checks need no sort per request.
	contactOrder []*Contact
	companies    map[string]*Company
	// companyByExt indexes companies by our company_id (the upsert key).
	companyByExt  map[string]string
	tags          map[string]*Tag
	conversations map[string]*Conversation
	attrs         []*DataAttribute
	scroll        *companyScroll // the open GET /companies/scroll, if any

	seq        int64
	nextTag    int64
	nextConv   int64
	nextAttr   int64
	nextPart   int64
	counters   Counters
	createdApp int64
}

func newStore(now time.Time) *store {
	st := &store{
		contacts:      map[string]*Contact{},
		companies:     map[string]*Company{},
		companyByExt:  map[string]string{},
		tags:          map[string]*Tag{},
		conversations: map[string]*Conversation{},
		nextTag:       7522900,
		nextConv:      147000000000,
		nextAttr:      100,
		nextPart:      20000000000,
		counters:      Counters{ByEndpoint: map[string]int64{}},
		createdApp:    now.Unix(),
	}
	st.attrs = builtinAttributes()
	return st
}

func (st *store) nextSeq() int64 {
	st.seq++
	return st.seq
}

func (st *store) count(pattern, method string) {
	st.counters.Requests++
	st.counters.ByEndpoint[pattern]++
	if method != http.MethodGet && pattern != "POST /contacts/search" && pattern != "POST /companies/list" {
		st.counters.Writes++
	}
}

// Snapshot returns a deep copy of the whole state.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	out := State{
		Contacts:       []Contact{},
		Companies:      []Company{},
		Tags:           []Tag{},
		Conversations:  []Conversation{},
		DataAttributes: []DataAttribute{},
		Counters:       st.counters,
	}
	out.Counters.ByEndpoint = maps.Clone(st.counters.ByEndpoint)
	for _, c := range st.sortedContacts() {
		out.Contacts = append(out.Contacts, c.clone())
	}
	for _, c := range st.sortedCompanies() {
		out.Companies = append(out.Companies, c.clone())
	}
	for _, t := range st.sortedTags() {
		out.Tags = append(out.Tags, *t)
	}
	for _, c := range st.sortedConversations() {
		out.Conversations = append(out.Conversations, c.clone())
	}
	for _, a := range st.attrs {
		out.DataAttributes = append(out.DataAttributes, a.clone())
	}
	return out
}

// sortedContacts returns contacts in creation order. The slice is the
// store's own: callers may iterate but not modify it.
func (st *store) sortedContacts() []*Contact {
	return st.contactOrder
}

func (st *store) removeContact(id string) {
	delete(st.contacts, id)
	st.contactOrder = slices.DeleteFunc(st.contactOrder, func(c *Contact) bool { return c.ID == id })
}

func (st *store) sortedCompanies() []*Company {
	out := slices.Collect(maps.Values(st.companies))
	slices.SortFunc(out, func(a, b *Company) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (st *store) sortedTags() []*Tag {
	out := slices.Collect(maps.Values(st.tags))
	slices.SortFunc(out, func(a, b *Tag) int { return compareNumeric(a.ID, b.ID) })
	return out
}

func (st *store) sortedConversations() []*Conversation {
	out := slices.Collect(maps.Values(st.conversations))
	slices.SortFunc(out, func(a, b *Conversation) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func compareNumeric(a, b string) int {
	ai, errA := strconv.ParseInt(a, 10, 64)
	bi, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		switch {
		case ai < bi:
			return -1
		case ai > bi:
			return 1
		}
		return 0
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (c *Contact) clone() Contact {
	out := *c
	out.CustomAttributes = cloneAttrs(c.CustomAttributes)
	out.TagIDs = cloneStrings(c.TagIDs)
	out.CompanyIDs = cloneStrings(c.CompanyIDs)
	out.tagApplied = maps.Clone(c.tagApplied)
	return out
}

func (c *Company) clone() Company {
	out := *c
	out.CustomAttributes = cloneAttrs(c.CustomAttributes)
	out.ContactIDs = cloneStrings(c.ContactIDs)
	out.TagIDs = cloneStrings(c.TagIDs)
	out.UserCount = len(c.ContactIDs)
	return out
}

func (c *Conversation) clone() Conversation {
	out := *c
	out.Contacts = slices.Clone(c.Contacts)
	if out.Contacts == nil {
		out.Contacts = []ContactRef{}
	}
	out.TagIDs = cloneStrings(c.TagIDs)
	out.CustomAttributes = cloneAttrs(c.CustomAttributes)
	out.Parts = slices.Clone(c.Parts)
	if out.Parts == nil {
		out.Parts = []ConversationPart{}
	}
	out.tagApplied = maps.Clone(c.tagApplied)
	return out
}

func (a *DataAttribute) clone() DataAttribute {
	out := *a
	out.Options = slices.Clone(a.Options)
	return out
}

// cloneAttrs copies an attribute map; values are scalars so a shallow copy
// is deep. Never returns nil so JSON shows {} rather than null.
func cloneAttrs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	maps.Copy(out, m)
	return out
}

func cloneStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func removeString(s []string, v string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return x == v })
}

func addString(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
