package webhook

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

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
		"localhost.shop.example": false,
	} {
		if got := InternalHost(host); got != want {
			t.Errorf("InternalHost(%q) = %v, want %v", host, got, want)
		}
	}
}
