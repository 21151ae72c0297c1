package checkout

import "unicode"

// HiddenRune returns the first rune of s that text shown to a customer must not carry, and
// whether there is one: control characters (C0, DEL, C1; "\n" only when multiline), the
// line and paragraph separators, and the invisible format characters (Unicode category Cf),
// among them the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the
// marks U+200E, U+200F and U+061C, zero-width spaces, U+FEFF and the tag characters. Bidi
// controls make a description read differently from its bytes ("\u202Egpj.exe" shows as
// "exe.jpg"); the rest hide text, and a NUL cuts it short in C-based tools downstream.
//
// U+200C and U+200D (zero-width non-joiner and joiner) are allowed: Persian and Indic
// scripts need the first, emoji sequences the second, and neither reorders text.
func HiddenRune(s string, multiline bool) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\n':
			if !multiline {
				return r, true
			}
		case r == '\u200c', r == '\u200d':
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
			return r, true
		}
	}
	return 0, false
}
