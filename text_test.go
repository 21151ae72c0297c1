package checkout

import "testing"

func TestHiddenRune(t *testing.T) {
	for _, tc := range []struct {
		s         string
		multiline bool
		want      rune
	}{
		{"plain text, café, 中文, שלום, عربي", false, 0},
		{"👨\u200d👩\u200d👧 ❤\ufe0f می\u200cخواهم", false, 0},
		{"a\nb", true, 0},
		{"a\nb", false, '\n'},
		{"a\rb", true, '\r'},
		{"a\tb", true, '\t'},
		{"a\x00b", true, 0x00},
		{"a\x7fb", true, 0x7f},
		{"a\u0085b", true, 0x85},
		{"x\u202ay", true, 0x202a},
		{"x\u202ey", true, 0x202e},
		{"x\u2066y", true, 0x2066},
		{"x\u2069y", true, 0x2069},
		{"x\u200ey", true, 0x200e},
		{"x\u200fy", true, 0x200f},
		{"x\u061cy", true, 0x061c},
		{"x\u200by", true, 0x200b},
		{"x\u2060y", true, 0x2060},
		{"x\ufeffy", true, 0xfeff},
		{"x\u00ady", true, 0x00ad},
		{"x\u2028y", true, 0x2028},
		{"x\u2029y", true, 0x2029},
		{"x\U000e0041y", true, 0xe0041},
	} {
		r, found := HiddenRune(tc.s, tc.multiline)
		if found != (tc.want != 0 || tc.s == "a\x00b") || r != tc.want {
			t.Errorf("HiddenRune(%+q, %v) = %U %v, want %U", tc.s, tc.multiline, r, found, tc.want)
		}
	}
}
