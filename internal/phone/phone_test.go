package phone

import "testing"

func TestE164(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{"(765) 465-7031", "+17654657031", true},
		{"765.465.7031", "+17654657031", true},
		{"+1 765 465 7031", "+17654657031", true},
		{"+1 (765) 465-7040", "+17654657040", true},
		{"765-465-7035", "+17654657035", true},
		{"7654657034", "+17654657034", true},
		{"  (765) 465-7031  ", "+17654657031", true},
		{"(765) 465-7031 ext. 12", "+17654657031", true},
		{"+44 20 7946 0958", "+442079460958", true}, // a foreign number keeps its country
		{"call me maybe", "", false},
		{"", "", false},
		{"   ", "", false},
		{"123", "", false},
		{"555-1234", "", false},      // no area code
		{"765 465 70311", "", false}, // one digit too many
		{"(555) 555-5555", "", false},
	} {
		got, ok := E164(tc.raw)
		if got != tc.want || ok != tc.ok {
			t.Errorf("E164(%q) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}
