package members

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultTypeMap is MEMBER_TYPE_MAP's default. It only tells Active from
// Retired: what each membertypeid means is the legacy database's business,
// so an operator adds one rule per type id that should read differently,
// e.g. "Active:2=Associate,Active:*=Member,Retired:*=Retired".
const DefaultTypeMap = "Active:*=Member,Retired:*=Retired"

// TypeMap turns a member's status and membertypeid into the member_type
// written to Intercom. It is written as comma-separated rules
//
//	STATUS:TYPEID=LABEL   this status with this membertypeid
//	STATUS:*=LABEL        this status, any membertypeid (also "STATUS=LABEL")
//
// Status is compared case-insensitively; a NULL membertypeid is 0. The
// exact rule wins over the status's "*" rule; a member no rule covers gets
// their status as the member type, so a gap in the map never blanks the
// attribute. Labels may contain spaces but not commas.
type TypeMap struct {
	exact    map[typeKey]string
	byStatus map[string]string
	source   string
}

type typeKey struct {
	status string
	typeID int64
}

// ParseTypeMap parses rules in the form described at TypeMap. An empty
// string is the empty map (every member's type is their status).
func ParseTypeMap(s string) (TypeMap, error) {
	m := TypeMap{exact: map[typeKey]string{}, byStatus: map[string]string{}, source: s}
	for _, rule := range strings.Split(s, ",") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		key, label, ok := strings.Cut(rule, "=")
		key, label = strings.TrimSpace(key), strings.TrimSpace(label)
		if !ok || key == "" || label == "" {
			return TypeMap{}, fmt.Errorf("member type rule %q: want STATUS:TYPEID=LABEL", rule)
		}
		status, typeID, hasID := strings.Cut(key, ":")
		status, typeID = strings.ToLower(strings.TrimSpace(status)), strings.TrimSpace(typeID)
		if status == "" {
			return TypeMap{}, fmt.Errorf("member type rule %q: no status", rule)
		}
		if !hasID || typeID == "*" {
			if _, dup := m.byStatus[status]; dup {
				return TypeMap{}, fmt.Errorf("member type rule %q: %s:* is given twice", rule, status)
			}
			m.byStatus[status] = label
			continue
		}
		id, err := strconv.ParseInt(typeID, 10, 64)
		if err != nil {
			return TypeMap{}, fmt.Errorf("member type rule %q: type id %q is not an integer or *", rule, typeID)
		}
		k := typeKey{status, id}
		if _, dup := m.exact[k]; dup {
			return TypeMap{}, fmt.Errorf("member type rule %q: %s:%d is given twice", rule, status, id)
		}
		m.exact[k] = label
	}
	return m, nil
}

// MustParseTypeMap is ParseTypeMap for constants; it panics on an error.
func MustParseTypeMap(s string) TypeMap {
	m, err := ParseTypeMap(s)
	if err != nil {
		panic(err)
	}
	return m
}

// MemberType is the member_type of a member with this status and type id.
func (m TypeMap) MemberType(status string, typeID int64) string {
	status = strings.TrimSpace(status)
	key := strings.ToLower(status)
	if label, ok := m.exact[typeKey{key, typeID}]; ok {
		return label
	}
	if label, ok := m.byStatus[key]; ok {
		return label
	}
	return status
}

// String is the map as configured.
func (m TypeMap) String() string { return m.source }

// IsZero reports whether m was never parsed (the zero TypeMap names no
// member type at all).
func (m TypeMap) IsZero() bool { return m.exact == nil && m.byStatus == nil && m.source == "" }
