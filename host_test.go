package checkout

import "testing"

func TestValidHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"shop.example", true},
		{"SHOP.Example", true},
		{"a-b.c-d.example", true},
		{"xn--bcher-kva.example", true},
		{"localhost", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"2001:db8::1", true},
		{"", false},
		{`x"><b>INJECTED<i>.example`, false},
		{"x'onmouseover='alert(1)'.example", false},
		{"a b.example", false},
		{"a(b).example", false},
		{"a=b.example", false},
		{"bücher.example", false}, // IDN: send the xn-- form
		{"shop.example.", false},
		{".shop.example", false},
		{"a..example", false},
		{"-a.example", false},
		{"a-.example", false},
		{"under_score.example", false},
		{"2130706433", false}, // a browser reads it as 127.0.0.1
		{"0x7f.1", false},
		{"1.2.3", false},
		{"shop.123", false},
		{"fe80::1%eth0", false},
		{"[::1]", false},
		{string(make([]byte, 64)) + ".example", false},
		{"a." + repeat("b", 63) + ".example", true},
		{"a." + repeat("b", 64) + ".example", false},
		{repeat("a.", 127) + "com", false}, // 257 characters
	} {
		t.Run(tc.host, func(t *testing.T) {
			if got := ValidHost(tc.host); got != tc.ok {
				t.Errorf("ValidHost(%q) = %v, want %v", tc.host, got, tc.ok)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}
