package txlookup

import (
	"strings"
	"testing"
)

func TestParseHash(t *testing.T) {
	want := "0x" + strings.Repeat("ab", 32)
	cases := []struct {
		name, in, want, err string
	}{
		{"0x", want, want, ""},
		{"no prefix (TRON explorers)", strings.Repeat("ab", 32), want, ""},
		{"upper case", "0X" + strings.Repeat("AB", 32), want, ""},
		{"spaces", "  " + want + "\n", want, ""},
		{"short", "0x1234", "", "want 64 hex digits"},
		{"long", want + "00", "", "want 64 hex digits"},
		{"not hex", "0x" + strings.Repeat("zz", 32), "", "not hexadecimal"},
		{"empty", "", "", "want 64 hex digits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseHash(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("ParseHash(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("ParseHash(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}
