package checkout

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// internalForTest stands in for the webhook sender's SSRF check (edge/outbox.InternalHost,
// which this package cannot import): localhost and loopback, private and link-local literals.
// edge/orders and edge/merchants test the real check through their callers.
func internalForTest(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified())
}

// TestURLPolicy decides every case for every kind of URL in one table. want is the refusal
// reason (0: accepted) per kind: return_url and webhook_url outside and in dev mode, an
// origin, a CSP source and a configured base URL; "-" means the case says nothing for it.
func TestURLPolicy(t *testing.T) {
	const (
		ok  = URLReason(0)
		na  = URLReason(-1)
		abs = URLNotAbsolute
		sch = URLScheme
		ins = URLInsecure
		cre = URLCredentials
		hst = URLBadHost
		itn = URLInternal
		ext = URLExtraParts
		lng = URLTooLong
	)
	type want struct{ ret, retDev, hook, hookDev, origin, csp, base URLReason }
	long := "https://shop.example/" + strings.Repeat("a", MaxURLLen)
	for _, tc := range []struct {
		in string
		w  want
	}{
		// plain cases
		{"https://shop.example/r?x=1", want{ok, ok, ok, ok, ext, ext, ext}},
		{"https://shop.example", want{ok, ok, ok, ok, ok, ok, ok}},
		{"https://Shop.Example/", want{ok, ok, ok, ok, ok, ok, ok}},
		{"https://shop.example:8443/p", want{ok, ok, ok, ok, ext, ext, ok}},
		{"https://shop.example/p#done", want{ok, ok, ok, ok, ext, ext, ext}},
		{"https://shop.example#frag", want{ok, ok, ok, ok, ext, ext, ext}},
		{"https://shop.example/?", want{ok, ok, ok, ok, ext, ext, ext}},
		{long, want{lng, lng, lng, lng, ext, ext, ok}},
		// schemes
		{"http://shop.example/h", want{ins, ins, ins, ins, ext, ext, ok}},
		{"http://shop.example", want{ins, ins, ins, ins, ok, ok, ok}},
		{"ftp://shop.example/h", want{sch, sch, sch, sch, sch, sch, sch}},
		{"javascript:alert(1)", want{abs, abs, abs, abs, abs, abs, abs}},
		{"data:text/html,x", want{abs, abs, abs, abs, abs, abs, abs}},
		{"//shop.example/h", want{sch, sch, sch, sch, sch, sch, sch}},
		{"/relative", want{abs, abs, abs, abs, abs, abs, abs}},
		{"shop.example", want{abs, abs, abs, abs, abs, abs, abs}},
		{"https://", want{abs, abs, abs, abs, abs, abs, abs}},
		{"https://:443/", want{abs, abs, abs, abs, abs, abs, abs}},
		{"", want{abs, abs, abs, abs, abs, abs, abs}},
		// credentials, whatever the mode
		{"http://user:pw@example.com/hook", want{cre, cre, cre, cre, cre, cre, cre}},
		{"https://user:pw@example.com/hook", want{cre, cre, cre, cre, cre, cre, cre}},
		{"https://u@shop.example", want{cre, cre, cre, cre, cre, cre, cre}},
		{"https://@shop.example", want{cre, cre, cre, cre, cre, cre, cre}},
		// hosts ValidHost refuses
		{`https://x"><b>INJECTED<i>.example/r`, want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://x'onmouseover='a'.example/", want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://a(b)=c.example/h", want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://2130706433/", want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://0x7f.1/", want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://bad.example;script-src/", want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://[fe80::1%25eth0]/", want{hst, hst, hst, hst, hst, hst, hst}},
		{"https://shop.example./", want{hst, hst, hst, hst, hst, hst, hst}},
		// IP literals and loopback: https to any IP literal for return URLs; http only to
		// loopback and only in dev; webhooks never to internal addresses outside dev
		{"https://203.0.113.7/h", want{ok, ok, ok, ok, ext, ext, ok}},
		{"https://[2001:db8::1]:8443/h", want{ok, ok, ok, ok, ext, ext, ok}},
		{"https://10.1.2.3/h", want{ok, ok, itn, ok, ext, ext, ok}},
		{"https://169.254.169.254/latest", want{ok, ok, itn, ok, ext, ext, ok}},
		{"https://[::1]:8443/h", want{ok, ok, itn, ok, ext, ext, ok}},
		{"https://localhost/h", want{ok, ok, itn, ok, ext, ext, ok}},
		{"http://127.0.0.1:9000/r", want{ins, ok, ins, ok, ext, ext, ok}},
		{"http://127.0.0.2:8080", want{ins, ok, ins, ok, ok, ok, ok}},
		{"http://[::1]:8/r", want{ins, ok, ins, ok, ext, ext, ok}},
		{"http://LOCALHOST:9000/h", want{ins, ok, ins, ok, ext, ext, ok}},
		{"http://[::ffff:127.0.0.1]/h", want{ins, ok, ins, ok, ext, ext, ok}},
		{"http://10.1.2.3/h", want{ins, ins, ins, ins, ext, ext, ok}},
		{"http://shop.localhost/h", want{ins, ins, ins, ins, ext, ext, ok}},
		// CSP wildcards are a CSP source's alone
		{"https://*.shop.example", want{hst, hst, hst, hst, hst, ok, hst}},
		{"https://*.shop.example/p", want{hst, hst, hst, hst, hst, ext, hst}},
		{"https://*./", want{hst, hst, hst, hst, hst, abs, hst}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			check := func(kind string, want URLReason, err error) {
				t.Helper()
				if want == na {
					return
				}
				var ue *URLError
				switch {
				case want == ok && err != nil:
					t.Errorf("%s: refused (%v), want accepted", kind, err)
				case want != ok && !errors.As(err, &ue):
					t.Errorf("%s: %v, want a *URLError with reason %d", kind, err, want)
				case want != ok && ue.Reason != want:
					t.Errorf("%s: reason %d (%v), want %d", kind, ue.Reason, err, want)
				}
			}
			_, err := ParseReturnURL(tc.in, false)
			check("return_url", tc.w.ret, err)
			_, err = ParseReturnURL(tc.in, true)
			check("return_url dev", tc.w.retDev, err)
			_, err = ParseWebhookURL(tc.in, false, internalForTest)
			check("webhook_url", tc.w.hook, err)
			_, err = ParseWebhookURL(tc.in, true, internalForTest)
			check("webhook_url dev", tc.w.hookDev, err)
			_, err = ParseOrigin(tc.in)
			check("origin", tc.w.origin, err)
			check("csp source", tc.w.csp, ParseCSPSource(tc.in))
			_, err = ParseBaseURL(tc.in)
			check("base url", tc.w.base, err)
		})
	}
}

func TestParseOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://Shop.Example", "https://shop.example"},
		{"https://shop.example/", "https://shop.example"},
		{"http://127.0.0.2:8080/", "http://127.0.0.2:8080"},
		{"https://[::1]:8443", "https://[::1]:8443"},
		{"javascript:alert(1)", ""},
		{"https://bad.example;script-src *", ""},
		{`https://x"><b>.example`, ""},
		{"https://shop.example/path", ""},
		{"https://shop.example?q", ""},
		{"https://u@shop.example", ""},
		{"ftp://shop.example", ""},
		{"shop.example", ""},
	} {
		got, err := ParseOrigin(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
