package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Search limits from Intercom's docs.
const (
	defaultPerPage  = 50
	maxPerPage      = 150
	maxNesting      = 2  // compound filters may nest two levels deep
	maxGroupFilters = 15 // filters per AND/OR group
)

// filter is a parsed search query: either a compound (AND/OR over children)
// or a single {field, operator, value}.
type filter struct {
	op       string
	children []*filter
	field    string
	value    any // string, int64, float64, bool, nil or []any
}

var singleOperators = map[string]bool{
	"=": true, "!=": true, "IN": true, "NIN": true, "<": true, "<=": true, ">": true, ">=": true,
	"~": true, "!~": true, "^": true, "$": true,
}

func parseFilter(raw json.RawMessage, depth int) (*filter, *apiError) {
	var in struct {
		Field    *string         `json:"field"`
		Operator string          `json:"operator"`
		Value    json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, paramInvalid("query must be an object with field, operator and value")
	}
	switch in.Operator {
	case "AND", "OR":
		if depth >= maxNesting {
			return nil, paramInvalid(fmt.Sprintf("Search queries can only be nested %d levels deep", maxNesting))
		}
		var children []json.RawMessage
		if err := json.Unmarshal(in.Value, &children); err != nil || len(children) == 0 {
			return nil, paramInvalid(in.Operator + " requires a non-empty array of filters as value")
		}
		if len(children) > maxGroupFilters {
			return nil, paramInvalid(fmt.Sprintf("A group can hold at most %d filters", maxGroupFilters))
		}
		f := &filter{op: in.Operator}
		for _, ch := range children {
			cf, err := parseFilter(ch, depth+1)
			if err != nil {
				return nil, err
			}
			f.children = append(f.children, cf)
		}
		return f, nil
	}
	if !singleOperators[in.Operator] {
		return nil, paramInvalid(fmt.Sprintf("Operator '%s' is not supported", in.Operator))
	}
	if in.Field == nil || *in.Field == "" {
		return nil, paramInvalid("field is required")
	}
	var value any
	if len(bytes.TrimSpace(in.Value)) > 0 {
		v, err := decodeAny(in.Value)
		if err != nil {
			return nil, paramInvalid("value is not valid JSON")
		}
		value = v
	}
	f := &filter{op: in.Operator, field: *in.Field, value: value}
	if err := f.checkTypes(); err != nil {
		return nil, err
	}
	return f, nil
}

// fieldKind says how a built-in search field compares.
type fieldKind int

const (
	kindString fieldKind = iota
	kindCaseless
	kindNumber
	kindTag
	kindCustom
)

func searchFieldKind(field string) (fieldKind, bool) {
	switch field {
	case "id", "external_id", "role", "name", "phone":
		return kindString, true
	case "email", "email_domain":
		return kindCaseless, true
	case "created_at", "updated_at", "signed_up_at", "last_seen_at", "owner_id":
		return kindNumber, true
	case "tag_id":
		return kindTag, true
	}
	if strings.HasPrefix(field, "custom_attributes.") && len(field) > len("custom_attributes.") {
		return kindCustom, true
	}
	return 0, false
}

// checkListSizes refuses an IN or NIN of more values than a group may hold
// filters: the spec documents IN as "Shortcut for OR queries" and an OR
// group as at most 15 filters (POST /contacts/search), and says nothing of
// a larger IN.
func (f *filter) checkListSizes() *apiError {
	for _, ch := range f.children {
		if err := ch.checkListSizes(); err != nil {
			return err
		}
	}
	if values, ok := f.value.([]any); ok && len(values) > maxGroupFilters {
		return paramInvalid(fmt.Sprintf("Operator '%s' takes at most %d values (a shortcut for an OR group of %d filters)",
			f.op, maxGroupFilters, maxGroupFilters))
	}
	return nil
}

// checkTypes rejects field/operator/value combinations Intercom rejects.
func (f *filter) checkTypes() *apiError {
	kind, ok := searchFieldKind(f.field)
	if !ok {
		return paramInvalid(fmt.Sprintf("%s is not a searchable field", f.field))
	}
	listOp := f.op == "IN" || f.op == "NIN"
	if _, isList := f.value.([]any); isList != listOp {
		if listOp {
			return paramInvalid(fmt.Sprintf("Operator '%s' requires an array value", f.op))
		}
		return paramInvalid(fmt.Sprintf("Operator '%s' does not accept an array value", f.op))
	}
	switch kind {
	case kindString, kindCaseless:
		switch f.op {
		case "<", "<=", ">", ">=":
			return paramInvalid(fmt.Sprintf("Operator '%s' is not supported for field %s", f.op, f.field))
		}
	case kindNumber:
		switch f.op {
		case "~", "!~", "^", "$":
			return paramInvalid(fmt.Sprintf("Operator '%s' is not supported for field %s", f.op, f.field))
		}
		for _, v := range asList(f.value) {
			if _, ok := toFloat(v); !ok && v != nil {
				return paramInvalid(fmt.Sprintf("%s must be compared with a number", f.field))
			}
		}
	case kindTag:
		if f.op != "=" && f.op != "!=" {
			return paramInvalid("tag_id only supports the = and != operators")
		}
	}
	return nil
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func (f *filter) match(c *Contact) bool {
	switch f.op {
	case "AND":
		for _, ch := range f.children {
			if !ch.match(c) {
				return false
			}
		}
		return true
	case "OR":
		for _, ch := range f.children {
			if ch.match(c) {
				return true
			}
		}
		return false
	}
	kind, _ := searchFieldKind(f.field)
	switch kind {
	case kindTag:
		has := slices.Contains(c.TagIDs, fmt.Sprint(f.value))
		return has == (f.op == "=")
	case kindNumber:
		return compareNumber(contactNumber(c, f.field), f.op, f.value)
	case kindCustom:
		v, ok := c.CustomAttributes[strings.TrimPrefix(f.field, "custom_attributes.")]
		if !ok {
			v = nil
		}
		switch x := v.(type) {
		case int64, float64:
			n, _ := toFloat(x)
			return compareNumber(&n, f.op, f.value)
		case bool:
			return compareString(strconv.FormatBool(x), f.op, f.value, false)
		case string:
			return compareString(x, f.op, f.value, false)
		default:
			return compareString("", f.op, f.value, false)
		}
	default:
		return compareString(contactString(c, f.field), f.op, f.value, kind == kindCaseless)
	}
}

func contactString(c *Contact, field string) string {
	switch field {
	case "id":
		return c.ID
	case "external_id":
		return c.ExternalID
	case "role":
		return c.Role
	case "name":
		return c.Name
	case "phone":
		return c.Phone
	case "email":
		return c.Email
	case "email_domain":
		_, d, _ := strings.Cut(c.Email, "@")
		return d
	}
	return ""
}

// contactNumber returns a numeric field or nil when it is null.
func contactNumber(c *Contact, field string) *float64 {
	var v int64
	switch field {
	case "created_at":
		v = c.CreatedAt
	case "updated_at":
		v = c.UpdatedAt
	case "signed_up_at":
		v = c.SignedUpAt
	case "last_seen_at":
		v = c.LastSeenAt
	case "owner_id":
		v = c.OwnerID
	}
	if v == 0 {
		return nil
	}
	f := float64(v)
	return &f
}

// compareString applies a string operator. An empty string is Intercom's
// null: "= null" matches it and negative operators match it.
func compareString(have, op string, want any, caseless bool) bool {
	norm := func(s string) string {
		if caseless {
			return strings.ToLower(s)
		}
		return s
	}
	str := func(v any) (string, bool) {
		switch x := v.(type) {
		case nil:
			return "", true
		case string:
			return x, true
		case bool:
			return strconv.FormatBool(x), true
		case int64:
			return strconv.FormatInt(x, 10), true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		}
		return "", false
	}
	h := norm(have)
	switch op {
	case "IN", "NIN":
		found := false
		for _, v := range asList(want) {
			if w, ok := str(v); ok && norm(w) == h {
				found = true
				break
			}
		}
		return found == (op == "IN")
	}
	w, _ := str(want)
	w = norm(w)
	switch op {
	case "=":
		return h == w
	case "!=":
		return h != w
	}
	// Substring operators compare case-insensitively, like Intercom's
	// search; a null field matches none of the positive ones.
	hl, wl := strings.ToLower(have), strings.ToLower(w)
	switch op {
	case "~":
		return have != "" && strings.Contains(hl, wl)
	case "!~":
		return have == "" || !strings.Contains(hl, wl)
	case "^":
		return have != "" && strings.HasPrefix(hl, wl)
	case "$":
		return have != "" && strings.HasSuffix(hl, wl)
	}
	return false
}

// compareNumber applies a numeric operator; have is nil for null.
func compareNumber(have *float64, op string, want any) bool {
	if op == "IN" || op == "NIN" {
		found := false
		for _, v := range asList(want) {
			if w, ok := toFloat(v); ok && have != nil && *have == w {
				found = true
				break
			}
		}
		return found == (op == "IN")
	}
	w, ok := toFloat(want)
	if !ok { // comparing with null or a non-number
		switch op {
		case "=":
			return have == nil && want == nil
		case "!=":
			return have != nil || want != nil
		}
		return false
	}
	if have == nil {
		return op == "!="
	}
	h := *have
	switch op {
	case "=":
		return h == w
	case "!=":
		return h != w
	case ">":
		return h > w
	case ">=":
		return h >= w
	case "<":
		return h < w
	case "<=":
		return h <= w
	}
	return false
}

// searchContacts is POST /contacts/search.
func (s *Server) searchContacts(c *call) (any, *apiError) {
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	rawQuery, ok := f["query"]
	if !ok || f.isNull("query") {
		return nil, paramNotFound("query is required")
	}
	q, err := parseFilter(rawQuery, 0)
	if err == nil && !s.opts.Loose.LargeSearchFilters {
		err = q.checkListSizes()
	}
	if err != nil {
		return nil, err
	}
	perPage, cursor := int64(0), ""
	if raw, ok := f["pagination"]; ok && !f.isNull("pagination") {
		var p struct {
			PerPage       *int64  `json:"per_page"`
			StartingAfter *string `json:"starting_after"`
		}
		if e := json.Unmarshal(raw, &p); e != nil {
			return nil, paramInvalid("pagination must be an object with per_page and starting_after")
		}
		if p.PerPage != nil {
			perPage = *p.PerPage
		}
		if p.StartingAfter != nil {
			cursor = *p.StartingAfter
		}
	}
	var matches []*Contact
	for _, ct := range s.st.sortedContacts() {
		if ct.MergedInto != "" || ct.Archived {
			continue
		}
		// Intercom's search index lags behind writes (index.go).
		if v := s.searchView(ct, c.now); v != nil && q.match(v) {
			matches = append(matches, v)
		}
	}
	return s.contactPage(matches, int(perPage), cursor)
}

// contactPage renders one page of a contact_list with Intercom's cursor
// pagination. The cursor is opaque to clients; here it encodes the creation
// sequence of the last contact returned, so paging stays stable when
// contacts are created in between.
func (s *Server) contactPage(all []*Contact, perPage int, cursor string) (any, *apiError) {
	if perPage <= 0 {
		perPage = defaultPerPage
	}
	perPage = min(perPage, maxPerPage)
	start := 0
	if cursor != "" {
		after, ok := decodeCursor(cursor)
		if !ok {
			return nil, paramInvalid("starting_after is not a valid cursor")
		}
		for start < len(all) && all[start].seq <= after {
			start++
		}
	}
	end := min(start+perPage, len(all))
	data := make([]any, 0, end-start)
	for _, ct := range all[start:end] {
		data = append(data, s.renderContact(ct))
	}
	totalPages := (len(all) + perPage - 1) / perPage
	pages := obj{"type": "pages", "page": start/perPage + 1, "per_page": perPage, "total_pages": totalPages}
	if end < len(all) {
		pages["next"] = obj{"per_page": perPage, "starting_after": encodeCursor(all[end-1].seq)}
	}
	return obj{"type": "list", "data": data, "total_count": len(all), "pages": pages}, nil
}

const cursorPrefix = "emu-contact:"

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(seq, 10)))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !bytes.HasPrefix(b, []byte(cursorPrefix)) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[len(cursorPrefix):]), 10, 64)
	return n, err == nil
}
