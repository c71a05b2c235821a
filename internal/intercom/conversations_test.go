package intercom

import "testing"

func TestConversationMemberNumber(t *testing.T) {
	for _, tc := range []struct {
		attrs Attributes
		want  string
	}{
		{Attributes{"Member Number Verification": []byte(`"12345"`)}, "12345"},
		{Attributes{"member_number_verification": []byte(`12345`)}, "12345"},
		// The UI label wins when both are there; a blank one does not count.
		{Attributes{"Member Number Verification": []byte(`"1"`), "member_number_verification": []byte(`"2"`)}, "1"},
		{Attributes{"Member Number Verification": []byte(`" "`), "member_number_verification": []byte(`"2"`)}, "2"},
		{Attributes{"member_number": []byte(`"3"`)}, ""},
		{nil, ""},
	} {
		if got := ConversationMemberNumber(tc.attrs); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.attrs, got, tc.want)
		}
	}
}
