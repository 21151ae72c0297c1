package outbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestForbiddenSpecialPurpose walks IANA's IPv4 and IPv6 special-purpose registries: every
// range that is not globally reachable is refused, and so is any IPv6 address that carries a
// refused IPv4 address inside it (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo), since
// connecting to it can end at that IPv4 host.
func TestForbiddenSpecialPurpose(t *testing.T) {
	for _, c := range []struct {
		name, ip string
		want     bool
	}{
		{"this network 0/8", "0.1.2.3", true},
		{"private 10/8", "10.255.0.1", true},
		{"shared CGNAT 100.64/10", "100.127.255.254", true},
		{"just below CGNAT", "100.63.255.255", false},
		{"loopback 127/8", "127.0.0.2", true},
		{"link-local / metadata 169.254/16", "169.254.170.2", true},
		{"private 172.16/12", "172.31.255.255", true},
		{"just above 172.16/12", "172.32.0.1", false},
		{"IETF protocol assignments 192.0.0/24", "192.0.0.170", true},
		{"documentation TEST-NET-1", "192.0.2.10", true},
		{"deprecated 6to4 relay anycast", "192.88.99.1", true},
		{"private 192.168/16", "192.168.0.1", true},
		{"benchmarking 198.18/15", "198.19.255.1", true},
		{"documentation TEST-NET-2", "198.51.100.7", true},
		{"documentation TEST-NET-3", "203.0.113.9", true},
		{"multicast 224/4", "239.255.255.250", true},
		{"reserved 240/4", "240.0.0.1", true},
		{"reserved 240/4 top", "254.255.255.255", true},
		{"limited broadcast", "255.255.255.255", true},
		{"public v4", "93.184.216.34", false},
		{"public v4 (AS112, globally reachable)", "192.31.196.1", false},

		{"v6 unspecified", "::", true},
		{"v6 loopback", "::1", true},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1", true},
		{"IPv4-mapped private", "::ffff:10.0.0.1", true},
		{"IPv4-mapped metadata", "::ffff:169.254.169.254", true},
		{"IPv4-mapped public", "::ffff:93.184.216.34", false},
		{"IPv4-compatible loopback", "::127.0.0.1", true},
		{"IPv4-compatible private", "::10.0.0.1", true},
		{"IPv4-compatible public (deprecated form)", "::93.184.216.34", true},
		{"NAT64 loopback", "64:ff9b::127.0.0.1", true},
		{"NAT64 private", "64:ff9b::a00:1", true},
		{"NAT64 metadata", "64:ff9b::169.254.169.254", true},
		{"NAT64 public (DNS64 answer)", "64:ff9b::93.184.216.34", false},
		{"NAT64 local-use 64:ff9b:1::/48", "64:ff9b:1::5db8:d822", true},
		{"discard-only 100::/64", "100::1", true},
		{"Teredo 2001::/32", "2001:0:4136:e378:8000:63bf:3fff:fdd2", true},
		{"Teredo embedding loopback", "2001:0:7f00:1::80ff:fffe", true},
		{"IETF protocol assignments 2001::/23 (benchmarking)", "2001:2::1", true},
		{"ORCHIDv2 inside 2001::/23", "2001:20::1", true},
		{"documentation 2001:db8::/32", "2001:db8::1", true},
		{"6to4 embedding loopback", "2002:7f00:1::1", true},
		{"6to4 embedding private", "2002:c0a8:101::1", true},
		{"6to4 embedding metadata", "2002:a9fe:a9fe::1", true},
		{"6to4 embedding public", "2002:5db8:d822::1", false},
		{"documentation 3fff::/20", "3fff:fff::1", true},
		{"SRv6 SIDs 5f00::/16", "5f00::1", true},
		{"unique local fc00::/7", "fc00::1", true},
		{"unique local fd00::/8 (AWS metadata v6)", "fd00:ec2::254", true},
		{"link-local fe80::/10", "fe80::1", true},
		{"link-local with zone", "fe80::1%eth0", true},
		{"deprecated site-local fec0::/10", "fec0::1", true},
		{"multicast ff00::/8", "ff02::1", true},
		{"multicast global scope", "ff0e::1", true},
		{"outside 2000::/3 (unallocated)", "4000::1", true},
		{"public v6", "2606:4700:4700::1111", false},
		{"public v6 (RIR space right after 2001::/23)", "2001:200::1", false},
		{"public v6 AS112 direct delegation", "2620:4f:8000::1", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Forbidden(netip.MustParseAddr(c.ip)); got != c.want {
				t.Errorf("Forbidden(%s) = %v, want %v", c.ip, got, c.want)
			}
		})
	}
	if !Forbidden(netip.Addr{}) {
		t.Error("the zero Addr is allowed")
	}
}

func TestForbidden(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "::", "224.0.0.1",
		"100.64.0.1", "255.255.255.255"} {
		if !Forbidden(netip.MustParseAddr(s)) {
			t.Errorf("%s allowed", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"} {
		if Forbidden(netip.MustParseAddr(s)) {
			t.Errorf("%s forbidden", s)
		}
	}
}

// TestClientRefusesInternalTargets: without the dev flag, no connection is made to internal
// addresses (the check runs before connect, so nothing is sent to them); with it, a local
// receiver is reachable. Redirects are not followed.
func TestClientRefusesInternalTargets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	strict := NewClient(false, 0)
	for _, u := range []string{srv.URL, "http://localhost" + port, "http://[::1]" + port, "http://10.0.0.1" + port,
		"http://169.254.169.254/latest/meta-data/"} {
		resp, err := strict.Post(u, "application/json", nil)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s reached", u)
			continue
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: %v, want ErrForbiddenAddress", u, err)
		}
	}
	dev := NewClient(true, 0)
	resp, err := dev.Post(srv.URL, "application/json", nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("dev client: %v %v", resp, err)
	}
	resp, err = dev.Post(srv.URL+"/redirect", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("redirect followed or failed: %v %v", resp, err)
	}
}

func TestInternalHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "api.localhost": true, "127.0.0.1": true, "10.0.0.5": true,
		"169.254.169.254": true, "::1": true, "[::1]": true, "shop.example": false, "93.184.216.34": false,
		"[64:ff9b::7f00:1]": true, "[2002:a00:1::1]": true, "[::ffff:127.0.0.1]": true, "240.0.0.1": true,
		"localhost.shop.example": false,
	} {
		if got := InternalHost(host); got != want {
			t.Errorf("InternalHost(%q) = %v, want %v", host, got, want)
		}
	}
}
