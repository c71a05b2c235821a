package members

// MaxNumberLen is the longest member number: members.membernumber is a
// VARCHAR(20) (deploy/local/members.sql has the shape of the real table),
// so a longer value cannot name a member.
const MaxNumberLen = 20

// ValidNumber reports whether s can be a member number: 1 to MaxNumberLen
// ASCII digits, nothing else. Member numbers are digit strings (100001);
// what an agent types into a conversation attribute is checked before it
// reaches the database, so that "1e5" (a number attribute rendered as
// JSON), "-1", " 12 " (spaces are not trimmed away: the agent should see
// the value refused and fix it), unicode digits or a 40-digit paste are
// refused rather than looked up.
func ValidNumber(s string) bool {
	if len(s) == 0 || len(s) > MaxNumberLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
