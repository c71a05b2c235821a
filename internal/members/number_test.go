package members

import (
	"strings"
	"testing"
)

func TestValidNumber(t *testing.T) {
	for _, ok := range []string{"100001", "1", strings.Repeat("9", MaxNumberLen)} {
		if !ValidNumber(ok) {
			t.Errorf("ValidNumber(%q) = false, want true", ok)
		}
	}
	for _, bad := range []string{
		"", "1e5", "-1", " 12 ", "12 ", "+12", "1.0", "0x1F",
		strings.Repeat("1", 40), strings.Repeat("1", MaxNumberLen+1),
		"١٢٣",      // Arabic-Indic digits
		"１２３",      // fullwidth digits
		"12\u200b", // a zero-width space
	} {
		if ValidNumber(bad) {
			t.Errorf("ValidNumber(%q) = true, want false", bad)
		}
	}
}
