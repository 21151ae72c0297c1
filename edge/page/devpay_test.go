package page

import (
	"strings"
	"testing"
)

// TestDevPayControl: the DEV ONLY pay control (and the form-action it needs) exists only in
// dev mode with a dev payer configured; outside dev mode a configured URL is ignored.
func TestDevPayControl(t *testing.T) {
	const payer = "http://127.0.0.1:8081/dev/pay"
	for _, c := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"dev with a payer", Config{Dev: true, DevPayURL: payer}, true},
		{"dev without a payer", Config{Dev: true}, false},
		{"production with a payer set by mistake", Config{DevPayURL: payer}, false},
	} {
		o, m := testOrder(), testMerchant()
		ctx := get(newHandler(t, c.cfg, o, m), "/pay/"+orderID)
		body := string(ctx.Response.Body())
		csp := string(ctx.Response.Header.Peek("Content-Security-Policy"))
		has := strings.Contains(body, `id="dev-pay"`) && strings.Contains(body, `action="`+payer+`"`) &&
			strings.Contains(body, "DEV ONLY") && strings.Contains(csp, "form-action http://127.0.0.1:8081;")
		if has != c.want {
			t.Errorf("%s: control shown %v, want %v (CSP %q)", c.name, has, c.want, csp)
		}
		if !c.want && (strings.Contains(body, "dev-pay") || !strings.Contains(csp, "form-action 'none'")) {
			t.Errorf("%s: traces of the dev control (CSP %q)", c.name, csp)
		}
	}
}
