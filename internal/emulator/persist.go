package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Persistence lets `intercom-sync emulator --state-file` survive a restart:
// the service's database remembers what it pushed, so an emulator that
// came back empty would disagree with it. The document holds the data and
// the id sequences, i.e. everything a real workspace would still have after
// a restart. It does not hold counters (traffic since the last reset),
// faults or rate-limit windows: those describe this process, not the
// workspace.

// stateVersion is the version of the document SaveState writes. Bump it
// when a field changes meaning; LoadState refuses any other version rather
// than guess.
const stateVersion = 1

type stateDoc struct {
	Version int `json:"version"`
	// CreatedApp is the workspace's creation time (GET /me).
	CreatedApp int64          `json:"created_app"`
	Sequences  savedSequences `json:"sequences"`
	// PlanIDs is read and ignored: files of earlier emulators, which
	// minted plan ids, carry it (plan ids now derive from the name).
	PlanIDs       map[string]string   `json:"plan_ids,omitempty"`
	Contacts      []savedContact      `json:"contacts"`
	Companies     []savedCompany      `json:"companies"`
	Tags          []Tag               `json:"tags"`
	Conversations []savedConversation `json:"conversations"`
	// DataAttributes are the custom attributes only: the built-in ones are
	// code, so a newer emulator loading an older file still lists its own.
	DataAttributes []DataAttribute `json:"data_attributes"`
}

// savedSequences are the store's counters that mint ids and ordering, so
// that ids created after a load never collide with loaded ones.
type savedSequences struct {
	Seq              int64 `json:"seq"`
	NextTag          int64 `json:"next_tag"`
	NextConversation int64 `json:"next_conversation"`
	NextAttribute    int64 `json:"next_attribute"`
	NextPart         int64 `json:"next_part"`
	NextPlan         int64 `json:"next_plan,omitempty"` // read and ignored, like PlanIDs
}

// savedContact is a Contact plus the fields the API never shows.
type savedContact struct {
	Contact
	Seq int64 `json:"seq"`
	// Created is the precise creation time SearchIndexDelay is measured
	// from; created_at only has seconds.
	Created    time.Time        `json:"created"`
	TagApplied map[string]int64 `json:"tag_applied"`
	// Written and Indexed are the search lag of updates (index.go): the
	// last write and the values search still sees until it is old enough.
	Written time.Time `json:"written,omitzero"`
	Indexed *Contact  `json:"indexed,omitempty"`
}

type savedCompany struct {
	Company
	Seq int64 `json:"seq"`
}

type savedConversation struct {
	Conversation
	Seq        int64                          `json:"seq"`
	TagApplied map[string]savedTagApplication `json:"tag_applied"`
}

type savedTagApplication struct {
	At      int64  `json:"at"`
	AdminID string `json:"admin_id"`
}

// SaveState writes every piece of data and the id sequences as a versioned
// JSON document that LoadState reads back. The state is copied under the
// lock and encoded after it, so a slow writer does not stall requests. The
// output is deterministic: the same state always gives the same bytes.
func (s *Server) SaveState(w io.Writer) error {
	doc := s.stateDoc()
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("emulator state: encode: %w", err)
	}
	return nil
}

func (s *Server) stateDoc() stateDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	doc := stateDoc{
		Version:    stateVersion,
		CreatedApp: st.createdApp,
		Sequences: savedSequences{
			Seq: st.seq, NextTag: st.nextTag, NextConversation: st.nextConv,
			NextAttribute: st.nextAttr, NextPart: st.nextPart,
		},
		Contacts:       make([]savedContact, 0, len(st.contactOrder)),
		Companies:      make([]savedCompany, 0, len(st.companies)),
		Tags:           make([]Tag, 0, len(st.tags)),
		Conversations:  make([]savedConversation, 0, len(st.conversations)),
		DataAttributes: []DataAttribute{},
	}
	for _, c := range st.sortedContacts() {
		cp := c.clone()
		cp.CustomAttributes = persistAttrs(cp.CustomAttributes)
		sc := savedContact{Contact: cp, Seq: c.seq, Created: c.created, TagApplied: cp.tagApplied, Written: c.written}
		if c.indexed != nil {
			ix := c.indexed.clone()
			ix.CustomAttributes = persistAttrs(ix.CustomAttributes)
			sc.Indexed = &ix
		}
		doc.Contacts = append(doc.Contacts, sc)
	}
	for _, c := range st.sortedCompanies() {
		cp := c.clone()
		cp.CustomAttributes = persistAttrs(cp.CustomAttributes)
		doc.Companies = append(doc.Companies, savedCompany{Company: cp, Seq: c.seq})
	}
	for _, t := range st.sortedTags() {
		doc.Tags = append(doc.Tags, *t)
	}
	for _, c := range st.sortedConversations() {
		cp := c.clone()
		cp.CustomAttributes = persistAttrs(cp.CustomAttributes)
		applied := make(map[string]savedTagApplication, len(c.tagApplied))
		for id, a := range c.tagApplied {
			applied[id] = savedTagApplication{At: a.at, AdminID: a.adminID}
		}
		doc.Conversations = append(doc.Conversations, savedConversation{Conversation: cp, Seq: c.seq, TagApplied: applied})
	}
	for _, a := range st.attrs {
		if a.Custom {
			doc.DataAttributes = append(doc.DataAttributes, a.clone())
		}
	}
	return doc
}

// LoadState replaces all data and id sequences with a document written by
// SaveState. The document is decoded and checked completely before the
// state is swapped under the lock, so a bad file leaves the emulator as it
// was and no request ever sees a half-loaded state. Counters, faults and
// rate-limit windows are kept: they belong to this process.
func (s *Server) LoadState(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("emulator state: read: %w", err)
	}
	// The version is read on its own first so that a document of another
	// version is reported as such, not as a confusing field error.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("emulator state: not a JSON document with a version: %w", err)
	}
	if head.Version == nil {
		return errors.New("emulator state: no version field")
	}
	if *head.Version != stateVersion {
		return fmt.Errorf("emulator state: version %d is not supported (this emulator reads version %d)", *head.Version, stateVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	// Strict, so a typo or a document from something else fails loudly
	// instead of loading as empty data. UseNumber keeps integers in custom
	// attributes integral, as the API does (see attrs).
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var doc stateDoc
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("emulator state: %w", err)
	}
	if dec.More() {
		return errors.New("emulator state: trailing data after the document")
	}
	st, err := s.storeFromDoc(&doc)
	if err != nil {
		return fmt.Errorf("emulator state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.counters = s.st.counters
	s.st = st
	return nil
}

// storeFromDoc builds a store from a decoded document and checks the
// invariants the handlers rely on: unique ids, contacts in creation order,
// and sequences ahead of every id they minted (tag and attribute ids are
// taken without a collision check).
func (s *Server) storeFromDoc(doc *stateDoc) (*store, error) {
	st := newStore(s.now())
	st.createdApp = doc.CreatedApp
	sq := doc.Sequences
	st.seq, st.nextTag, st.nextConv, st.nextAttr, st.nextPart =
		sq.Seq, sq.NextTag, sq.NextConversation, sq.NextAttribute, sq.NextPart

	seqs := map[int64]string{}
	useSeq := func(what string, seq int64) error {
		if seq <= 0 || seq > st.seq {
			return fmt.Errorf("%s: seq %d is not in 1..sequences.seq %d", what, seq, st.seq)
		}
		if other, ok := seqs[seq]; ok {
			return fmt.Errorf("%s: seq %d is also used by %s", what, seq, other)
		}
		seqs[seq] = what
		return nil
	}

	for i := range doc.Tags {
		t := doc.Tags[i]
		what := fmt.Sprintf("tag %d", i)
		if t.ID == "" || t.Name == "" {
			return nil, fmt.Errorf("%s: id and name are required", what)
		}
		if st.tags[t.ID] != nil {
			return nil, fmt.Errorf("%s: id %s is used twice", what, t.ID)
		}
		if other := st.tagByName(t.Name); other != nil {
			return nil, fmt.Errorf("%s: name %q is also tag %s's", what, t.Name, other.ID)
		}
		if n, err := strconv.ParseInt(t.ID, 10, 64); err == nil && n > st.nextTag {
			return nil, fmt.Errorf("%s: id %s is beyond sequences.next_tag %d", what, t.ID, st.nextTag)
		}
		st.tags[t.ID] = &t
	}

	var lastContactSeq int64
	for i := range doc.Contacts {
		sc := &doc.Contacts[i]
		ct := sc.Contact
		what := fmt.Sprintf("contact %d (%s)", i, ct.ID)
		if ct.ID == "" {
			return nil, fmt.Errorf("contact %d: id is required", i)
		}
		if st.contacts[ct.ID] != nil {
			return nil, fmt.Errorf("%s: id is used twice", what)
		}
		if ct.Role != "user" && ct.Role != "lead" {
			return nil, fmt.Errorf("%s: role %q is not user or lead", what, ct.Role)
		}
		if err := useSeq(what, sc.Seq); err != nil {
			return nil, err
		}
		// Lists, search and their cursors walk contactOrder assuming
		// ascending seq.
		if sc.Seq <= lastContactSeq {
			return nil, fmt.Errorf("%s: contacts are not in creation order (seq %d after %d)", what, sc.Seq, lastContactSeq)
		}
		lastContactSeq = sc.Seq
		ct.seq = sc.Seq
		ct.created = sc.Created
		ct.written = sc.Written
		if ix := sc.Indexed; ix != nil {
			snap := ix.indexSnapshot()
			snap.seq = sc.Seq
			snap.CustomAttributes = loadAttrs(snap.CustomAttributes)
			ct.indexed = snap
		}
		ct.tagApplied = sc.TagApplied
		if ct.tagApplied == nil {
			ct.tagApplied = map[string]int64{}
		}
		ct.CustomAttributes = loadAttrs(ct.CustomAttributes)
		ct.TagIDs = cloneStrings(ct.TagIDs)
		ct.CompanyIDs = cloneStrings(ct.CompanyIDs)
		st.contacts[ct.ID] = &ct
		st.contactOrder = append(st.contactOrder, &ct)
	}

	for i := range doc.Companies {
		sc := &doc.Companies[i]
		co := sc.Company
		what := fmt.Sprintf("company %d (%s)", i, co.ID)
		if co.ID == "" || co.CompanyID == "" {
			return nil, fmt.Errorf("company %d: id and company_id are required", i)
		}
		if st.companies[co.ID] != nil {
			return nil, fmt.Errorf("%s: id is used twice", what)
		}
		if other, ok := st.companyByExt[co.CompanyID]; ok {
			return nil, fmt.Errorf("%s: company_id %q is also company %s's", what, co.CompanyID, other)
		}
		if err := useSeq(what, sc.Seq); err != nil {
			return nil, err
		}
		co.seq = sc.Seq
		co.CustomAttributes = loadAttrs(co.CustomAttributes)
		co.ContactIDs = cloneStrings(co.ContactIDs)
		co.TagIDs = cloneStrings(co.TagIDs)
		st.companies[co.ID] = &co
		st.companyByExt[co.CompanyID] = co.ID
	}

	for i := range doc.Conversations {
		sc := &doc.Conversations[i]
		cv := sc.Conversation
		what := fmt.Sprintf("conversation %d (%s)", i, cv.ID)
		if cv.ID == "" {
			return nil, fmt.Errorf("conversation %d: id is required", i)
		}
		if st.conversations[cv.ID] != nil {
			return nil, fmt.Errorf("%s: id is used twice", what)
		}
		if err := useSeq(what, sc.Seq); err != nil {
			return nil, err
		}
		cv.seq = sc.Seq
		cv.tagApplied = make(map[string]tagApplication, len(sc.TagApplied))
		for id, a := range sc.TagApplied {
			cv.tagApplied[id] = tagApplication{at: a.At, adminID: a.AdminID}
		}
		cv.CustomAttributes = loadAttrs(cv.CustomAttributes)
		cv.TagIDs = cloneStrings(cv.TagIDs)
		if cv.Contacts == nil {
			cv.Contacts = []ContactRef{}
		}
		if cv.Parts == nil {
			cv.Parts = []ConversationPart{}
		}
		st.conversations[cv.ID] = &cv
	}

	attrIDs := map[int64]bool{}
	for i := range doc.DataAttributes {
		a := doc.DataAttributes[i].clone()
		what := fmt.Sprintf("data attribute %d (%s.%s)", i, a.Model, a.Name)
		if !a.Custom {
			return nil, fmt.Errorf("%s: only custom attributes are saved; built-in ones come from the emulator", what)
		}
		if a.ID <= 0 || a.ID > st.nextAttr {
			return nil, fmt.Errorf("%s: id %d is not in 1..sequences.next_attribute %d", what, a.ID, st.nextAttr)
		}
		if attrIDs[a.ID] {
			return nil, fmt.Errorf("%s: id %d is used twice", what, a.ID)
		}
		if st.findAttr(a.Model, a.Name, true) != nil || st.findAttr(a.Model, a.Name, false) != nil {
			return nil, fmt.Errorf("%s: name is already taken", what)
		}
		attrIDs[a.ID] = true
		st.attrs = append(st.attrs, &a)
	}
	return st, nil
}

// persistAttrs prepares custom attribute values for JSON. The API stores
// integral numbers as int64 and others as float64 (see normaliseNumber);
// a float64 that happens to be integral would be written as "3" and come
// back as int64, so it is written as "3.0" to come back as the same type.
func persistAttrs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = persistValue(v)
	}
	return out
}

func persistValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			s := strconv.FormatFloat(x, 'f', -1, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
			return json.Number(s)
		}
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = persistValue(x[i])
		}
		return out
	case map[string]any:
		return persistAttrs(x)
	}
	return v
}

// loadAttrs turns the json.Numbers of a decoded attribute map into the
// int64/float64 values the API stores. It never returns nil.
func loadAttrs(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return normaliseValue(m).(map[string]any)
}
