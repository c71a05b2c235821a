package members

import (
	"strings"
	"testing"
)

func TestDefaultTypeMap(t *testing.T) {
	m := MustParseTypeMap(DefaultTypeMap)
	for _, tc := range []struct {
		status string
		id     int64
		want   string
	}{
		{"Active", 1, "Member"},
		{"Active", 7, "Member"},
		{"active", 0, "Member"},
		{"Retired", 2, "Retired"},
		{" Retired ", 2, "Retired"},
	} {
		if got := m.MemberType(tc.status, tc.id); got != tc.want {
			t.Errorf("MemberType(%q, %d) = %q, want %q", tc.status, tc.id, got, tc.want)
		}
	}
}

func TestTypeMapPrecedence(t *testing.T) {
	m, err := ParseTypeMap(" Active:2 = Associate Member , Active:*=Member, retired=Retired Member, Retired:3=Retired Honorary ")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status string
		id     int64
		want   string
	}{
		{"Active", 2, "Associate Member"}, // the exact rule wins over Active:*
		{"Active", 1, "Member"},
		{"Retired", 3, "Retired Honorary"},
		{"RETIRED", 1, "Retired Member"}, // "retired=" is retired:*; status case does not matter
		{"Honorary", 1, "Honorary"},      // no rule: the status itself
	} {
		if got := m.MemberType(tc.status, tc.id); got != tc.want {
			t.Errorf("MemberType(%q, %d) = %q, want %q", tc.status, tc.id, got, tc.want)
		}
	}
	if empty := MustParseTypeMap(""); empty.MemberType("Active", 1) != "Active" {
		t.Fatal("an empty map does not fall back to the status")
	}
}

func TestTypeMapRejectsBadRules(t *testing.T) {
	for _, bad := range []string{
		"Active", "Active:1", "=Member", "Active:1=", ":1=Member", "Active:x=Member",
		"Active:1=A,Active:1=B", "Active:*=A,Active=B",
	} {
		if _, err := ParseTypeMap(bad); err == nil {
			t.Errorf("ParseTypeMap(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "member type rule") {
			t.Errorf("ParseTypeMap(%q): unhelpful error %v", bad, err)
		}
	}
}
