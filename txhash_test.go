package checkout

import "testing"

func TestParseTxHash(t *testing.T) {
	const h = "0x" + "ab12000000000000000000000000000000000000000000000000000000000cd9"
	for in, want := range map[string]string{
		h:                         h,
		h[2:]:                     h, // TRON explorers show no 0x
		"  0XAB12" + h[6:] + "\n": h,
		"ab12 0000" + h[10:]:      h, // a space from a wrapped copy
		h[:65]:                    "",
		h + "0":                   "",
		"0x" + "zz" + h[4:]:       "",
		"":                        "",
		"0x":                      "",
	} {
		got, ok := ParseTxHash(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseTxHash(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
