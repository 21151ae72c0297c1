package clientip

import (
	"net"
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	r, err := Parse("127.0.0.1, 10.0.0.0/8 ::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer, xff, want string
	}{
		{"direct client, header ignored", "203.0.113.7", "1.2.3.4", "203.0.113.7"},
		{"behind a trusted proxy", "127.0.0.1", "198.51.100.9", "198.51.100.9"},
		{"forged left-most hop ignored", "127.0.0.1", "6.6.6.6, 198.51.100.9", "198.51.100.9"},
		{"two trusted proxies", "10.1.2.3", "198.51.100.9, 127.0.0.1", "198.51.100.9"},
		{"proxy without the header", "127.0.0.1", "", "127.0.0.1"},
		{"garbled hop stops at the proxy", "127.0.0.1", "x, not-an-ip", "127.0.0.1"},
		{"all hops trusted", "127.0.0.1", "10.0.0.1", "10.0.0.1"},
		{"IPv4-mapped peer", "::ffff:127.0.0.1", "198.51.100.9", "198.51.100.9"},
		{"IPv6 proxy", "::1", "2001:db8::1", "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Client(net.ParseIP(tt.peer), tt.xff)
			if got.String() != tt.want {
				t.Errorf("Client(%s, %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
	var none *Resolver
	if got := none.Client(net.ParseIP("127.0.0.1"), "1.2.3.4"); got.String() != "127.0.0.1" {
		t.Errorf("nil resolver trusted a proxy: %s", got)
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	for _, in := range []string{"example.com", "10.0.0.0/33", "1.2.3"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestBucket(t *testing.T) {
	tests := map[string]string{
		"198.51.100.9":           "198.51.100.9",
		"::ffff:198.51.100.9":    "198.51.100.9",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::abc": "2001:db8:1:2::/64",
	}
	for in, want := range tests {
		if got := Bucket(netip.MustParseAddr(in)); got != want {
			t.Errorf("Bucket(%s) = %s, want %s", in, got, want)
		}
	}
}
