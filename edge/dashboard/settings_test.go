package dashboard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

// newSettingsEdge is newEdge with the pages past sign-in served (Store and Actions set, as
// the edge does).
func newSettingsEdge(t *testing.T) *edge {
	t.Helper()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	svc := &users.Service{Store: st, Now: c.Now, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ord := &orders.Service{Store: st, PublicURL: base}
	d, err := dashboard.New(dashboard.Config{Users: svc, Store: st, Actions: ord, Origin: base})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: ord, Auth: &auth.Verifier{Keys: st}, Dev: true, ExtraRoutes: d.Routes}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })
	return &edge{t: t, url: base, st: st, svc: svc, clock: c, ctx: context.Background()}
}

// session is a signed-in user of the edge: its cookie and CSRF token.
type session struct {
	e            *edge
	cookie, csrf string
}

func (e *edge) session(email, pw string) *session {
	e.t.Helper()
	cookie := e.login(email, pw, "")
	home := e.do("GET", "/dashboard", nil, cookie, nil)
	return &session{e: e, cookie: cookie, csrf: csrfOf(e.t, home.body)}
}

func (s *session) get(path string) resp {
	s.e.t.Helper()
	return s.e.do("GET", path, nil, s.cookie, nil)
}

// post sends a form with the session's CSRF token.
func (s *session) post(path string, form url.Values) resp {
	s.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", s.csrf)
	return s.e.do("POST", path, form, s.cookie, nil)
}

var secretRE = regexp.MustCompile(`id="new-secret"[^>]*>(sk_[A-Za-z0-9_-]+)<`)
var keyIDRE = regexp.MustCompile(`id="new-key-id"[^>]*>(key_[A-Za-z0-9]+)<`)

// newKey reads the key id and secret off the page answering a create or rotate.
func newKey(t *testing.T, r resp) (id, secret string) {
	t.Helper()
	s, k := secretRE.FindStringSubmatch(r.body), keyIDRE.FindStringSubmatch(r.body)
	if r.status != 200 || s == nil || k == nil {
		t.Fatalf("no new key on the answer: %d\n%s", r.status, r.body)
	}
	if r.header.Get("Location") != "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("secret page: Location %q, Cache-Control %q", r.header.Get("Location"), r.header.Get("Cache-Control"))
	}
	return k[1], s[1]
}

// fieldRefused: a 400 with the message beside the field (aria-invalid, described by it).
func fieldRefused(t *testing.T, r resp, field, text string) {
	t.Helper()
	if r.status != 400 {
		t.Fatalf("%s: status %d, want 400\n%s", field, r.status, r.body)
	}
	errEl := regexp.MustCompile(`<p class="field-error" id="` + regexp.QuoteMeta(field) + `-error">([^<]*)</p>`).FindStringSubmatch(r.body)
	if errEl == nil || !strings.Contains(errEl[1], text) {
		t.Fatalf("%s: no error %q beside the field\n%s", field, text, r.body)
	}
	ctl := regexp.MustCompile(`<(input|textarea|select)[^>]*id="` + regexp.QuoteMeta(field) + `"[^>]*>`).FindString(r.body)
	if !strings.Contains(ctl, `aria-invalid="true"`) || !strings.Contains(ctl, field+"-error") {
		t.Fatalf("%s: control not marked invalid: %s", field, ctl)
	}
}

func (e *edge) load(id string) *checkout.Merchant {
	e.t.Helper()
	m, err := e.st.Merchant(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *edge) keys(merchantID string) []*checkout.APIKey {
	e.t.Helper()
	ks, err := e.st.Keys(e.ctx, merchantID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ks
}

// apiWorks reports how a signed request with the key fares on the merchant API.
func (e *edge) apiErr(keyID, secret string) error {
	_, err := client.New(e.url, keyID, secret).ListOrders(e.ctx, &client.ListParams{})
	return err
}

// auditOf is the merchant's audit log ("" = the operators'), newest first, with no secret in
// any entry.
func (e *edge) auditOf(merchantID string, secrets ...string) []store.AuditEntry {
	e.t.Helper()
	log, err := e.st.Audit(e.ctx, merchantID, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range log {
		for _, s := range secrets {
			if s != "" && (strings.Contains(a.Detail, s) || strings.Contains(a.Action, s)) {
				e.t.Fatalf("audit entry %+v holds a secret", a)
			}
		}
	}
	return log
}

func hasAudit(log []store.AuditEntry, action, actor, detailPart string) bool {
	for _, a := range log {
		if a.Action == action && a.Actor == actor && a.IP == "127.0.0.1" && strings.Contains(a.Detail, detailPart) && !a.At.IsZero() {
			return true
		}
	}
	return false
}

func TestSettingsKeys(t *testing.T) {
	e := newSettingsEdge(t)
	m, first := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")

	page := s.get("/dashboard/settings/keys")
	if page.status != 200 || !strings.Contains(page.body, first.ID) || strings.Contains(page.body, first.Secret) {
		t.Fatalf("keys page %d\n%s", page.status, page.body)
	}
	checkHeaders(t, page)

	// Create: the secret is on this answer only, and it signs requests.
	id, secret := newKey(t, s.post("/dashboard/settings/keys", nil))
	if err := e.apiErr(id, secret); err != nil {
		t.Fatalf("the new key on the API: %v", err)
	}
	if p := s.get("/dashboard/settings/keys"); !strings.Contains(p.body, id) || strings.Contains(p.body, secret) {
		t.Fatal("the keys page lists the new key without its secret? it does not, or shows the secret")
	}

	// Rotate: a new key, and the old one refused at once (no grace period, as the command).
	id2, secret2 := newKey(t, s.post("/dashboard/settings/keys/rotate", url.Values{"key_id": {id}}))
	if err := e.apiErr(id2, secret2); err != nil {
		t.Fatalf("the rotated key: %v", err)
	}
	var ce *client.Error
	if err := e.apiErr(id, secret); !errors.As(err, &ce) || ce.Code != checkout.CodeRevokedAPIKey {
		t.Fatalf("the replaced key: %v", err)
	}

	// Revoke.
	r := s.post("/dashboard/settings/keys/revoke", url.Values{"key_id": {id2}})
	if r.status != 303 || r.header.Get("Location") != "/dashboard/settings/keys?lang=en&m=keyrevoked" {
		t.Fatalf("revoke: %d %q", r.status, r.header.Get("Location"))
	}
	if err := e.apiErr(id2, secret2); !errors.As(err, &ce) || ce.Code != checkout.CodeRevokedAPIKey {
		t.Fatalf("the revoked key: %v", err)
	}
	if p := s.get(r.header.Get("Location")); !strings.Contains(p.body, "The key is revoked") {
		t.Fatal("no notice after revoking")
	}

	// Bad key ids: 404 and nothing stored.
	other, otherKey := e.merchant("Other Shop")
	for _, bad := range []string{"", "key_nope", otherKey.ID} {
		for _, path := range []string{"/dashboard/settings/keys/rotate", "/dashboard/settings/keys/revoke"} {
			if r := s.post(path, url.Values{"key_id": {bad}}); r.status != 404 {
				t.Fatalf("%s %q: %d", path, bad, r.status)
			}
		}
	}
	if n := len(e.keys(m.ID)); n != 3 {
		t.Fatalf("%d keys after refused rotations, want 3", n)
	}
	if ks := e.keys(other.ID); len(ks) != 1 || ks[0].RevokedAt != nil {
		t.Fatalf("another merchant's key changed: %+v", ks)
	}

	log := e.auditOf(m.ID, first.Secret, secret, secret2)
	for _, want := range []struct{ action, detail string }{
		{dashboard.ActionKeyCreated, id}, {dashboard.ActionKeyRotated, id2 + " replaces " + id}, {dashboard.ActionKeyRevoked, id2},
	} {
		if !hasAudit(log, want.action, "ops@acme.example", want.detail) {
			t.Errorf("no audit %s %s in %+v", want.action, want.detail, log)
		}
	}
}

func TestSettingsWebhook(t *testing.T) {
	e := newSettingsEdge(t)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")
	if p := s.get("/dashboard/settings/webhook"); p.status != 200 || !strings.Contains(p.body, `id="webhook_url"`) {
		t.Fatalf("webhook page %d\n%s", p.status, p.body)
	}
	for _, c := range []struct{ url, msg string }{
		{"", "Enter a value."},
		{"http://shop.example/hook", "must be an absolute https URL"},
		{"https://127.0.0.1/hook", "loopback, private or reserved"},
		{"https://10.1.2.3/hook", "loopback, private or reserved"},
		{"https://user:pw@shop.example/hook", "must not carry credentials"},
		{"shop.example/hook", "must be an absolute https URL"},
	} {
		r := s.post("/dashboard/settings/webhook", url.Values{"webhook_url": {c.url}})
		fieldRefused(t, r, "webhook_url", c.msg)
		if c.url != "" && !strings.Contains(r.body, `value="`+strings.ReplaceAll(c.url, "&", "&amp;")+`"`) {
			t.Errorf("%q is not shown again", c.url)
		}
		if got := e.load(m.ID).WebhookURL; got != "" {
			t.Fatalf("%q stored %q", c.url, got)
		}
	}
	r := s.post("/dashboard/settings/webhook", url.Values{"webhook_url": {"https://shop.example/hooks/mp?token=abc"}})
	if r.status != 303 || r.header.Get("Location") != "/dashboard/settings/webhook?lang=en&m=webhookset" {
		t.Fatalf("good URL: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if got := e.load(m.ID).WebhookURL; got != "https://shop.example/hooks/mp?token=abc" {
		t.Fatalf("stored %q", got)
	}

	// The webhook secret: a new one shown once, the previous one signing for the overlap.
	old := e.load(m.ID).WebhookSecret
	r = s.post("/dashboard/settings/webhook/secret", nil)
	sec := regexp.MustCompile(`id="new-webhook-secret"[^>]*>(whsec_[A-Za-z0-9_-]+)<`).FindStringSubmatch(r.body)
	if r.status != 200 || sec == nil || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate secret: %d\n%s", r.status, r.body)
	}
	got := e.load(m.ID)
	if got.WebhookSecret != sec[1] || got.WebhookSecretPrev != old || got.WebhookSecretPrevUntil == nil ||
		got.WebhookSecretPrevUntil.Sub(time.Now()) < checkout.WebhookSecretOverlap-time.Minute {
		t.Fatalf("stored secrets: %+v", got)
	}
	if p := s.get("/dashboard/settings/webhook"); strings.Contains(p.body, sec[1]) {
		t.Fatal("the webhook page shows the secret")
	}
	log := e.auditOf(m.ID, old, sec[1], "token=abc")
	if !hasAudit(log, dashboard.ActionWebhookURLChanged, "ops@acme.example", "host shop.example") ||
		!hasAudit(log, dashboard.ActionWebhookSecretRotated, "ops@acme.example", "previous secret signs until") {
		t.Fatalf("audit %+v", log)
	}
}

func TestSettingsReceive(t *testing.T) {
	e := newSettingsEdge(t)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")
	if p := s.get("/dashboard/settings/receive"); p.status != 200 || !strings.Contains(p.body, `id="erc20-xpub"`) || !strings.Contains(p.body, `id="trc20-address"`) {
		t.Fatalf("receive page %d\n%s", p.status, p.body)
	}
	xprv := "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM"
	for _, c := range []struct{ xpub, msg string }{{"", "Enter a value."}, {xprv, "private"}, {"xpub-nonsense", "Not accepted"}} {
		fieldRefused(t, s.post("/dashboard/settings/receive/xpub", url.Values{"network": {"ERC20"}, "xpub": {c.xpub}}), "erc20-xpub", c.msg)
	}
	if len(e.load(m.ID).XPubs) != 0 {
		t.Fatal("a refused xpub was stored")
	}
	// Another merchant's xpub is refused by the shared registry's rule.
	x, err := deposit.DevAccountXPub(checkout.ERC20, 7)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := deposit.ParseAccountXPub(x)
	other, _ := e.merchant("Other Shop")
	if err := e.st.SetXPub(e.ctx, other, checkout.ERC20, k.String(), k.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	fieldRefused(t, s.post("/dashboard/settings/receive/xpub", url.Values{"network": {"ERC20"}, "xpub": {x}}), "erc20-xpub", "another merchant")
	x8, _ := deposit.DevAccountXPub(checkout.ERC20, 8)
	if r := s.post("/dashboard/settings/receive/xpub", url.Values{"network": {"ERC20"}, "xpub": {x8}}); r.status != 303 {
		t.Fatalf("good xpub: %d\n%s", r.status, r.body)
	}
	if e.load(m.ID).XPubs[checkout.ERC20] == "" {
		t.Fatal("xpub not stored")
	}
	if r := s.post("/dashboard/settings/receive/xpub", url.Values{"network": {"BTC"}, "xpub": {x8}}); r.status != 404 {
		t.Fatalf("unknown network: %d", r.status)
	}

	// Mode and addresses: the command's rules.
	const tronAddr = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	for _, c := range []struct {
		form       url.Values
		field, msg string
	}{
		{url.Values{"mode": {"xpub"}}, "trc20-mode", "xpub mode needs an xpub"},
		{url.Values{"mode": {"sideways"}}, "trc20-mode", "must be xpub or addresses"},
		{url.Values{"mode": {"addresses"}}, "trc20-address", "at least one"},
		{url.Values{"mode": {"addresses"}, "address": {"0xdAC17F958D2ee523a2206206994597C13D831ec7"}}, "trc20-address", "Not accepted"},
		{url.Values{"mode": {"addresses"}, "address": {tronAddr + "\n" + tronAddr}}, "trc20-address", "listed twice"},
		{url.Values{"mode": {"addresses"}, "address": {tronAddr}, "max_offset": {"2"}}, "trc20-max_offset", "from 0.000001 to 1"},
		{url.Values{"mode": {"addresses"}, "address": {tronAddr}, "late_window": {"soon"}}, "trc20-late_window", "duration"},
		{url.Values{"mode": {"addresses"}, "address": {tronAddr}, "late_window": {"30s"}}, "trc20-late_window", "from 1m to 720h"},
	} {
		c.form.Set("network", "TRC20")
		r := s.post("/dashboard/settings/receive/mode", c.form)
		if c.field == "trc20-mode" {
			if r.status != 400 || !strings.Contains(r.body, `id="trc20-mode-error">`) || !strings.Contains(r.body, c.msg) {
				t.Fatalf("mode %v: %d\n%s", c.form, r.status, r.body)
			}
		} else {
			fieldRefused(t, r, c.field, c.msg)
		}
		if _, ok := e.load(m.ID).Receive[checkout.TRC20]; ok {
			t.Fatalf("%v stored a receive setting", c.form)
		}
	}
	r := s.post("/dashboard/settings/receive/mode", url.Values{"network": {"TRC20"}, "mode": {"addresses"}, "address": {" " + tronAddr + " \r\n"},
		"max_offset": {"0.05"}, "late_window": {"48h"}})
	if r.status != 303 || r.header.Get("Location") != "/dashboard/settings/receive?lang=en&m=receiveset" {
		t.Fatalf("good receive: %d\n%s", r.status, r.body)
	}
	c := e.load(m.ID).Receive[checkout.TRC20]
	if c.Mode != checkout.ReceiveAddresses || len(c.Addresses) != 1 || c.Addresses[0] != tronAddr || c.MaxOffset.String() != "0.05" || c.LateWindow != 48*time.Hour {
		t.Fatalf("stored %+v", c)
	}
	log := e.auditOf(m.ID)
	if !hasAudit(log, dashboard.ActionXPubSet, "ops@acme.example", "ERC20") || !hasAudit(log, dashboard.ActionReceiveSet, "ops@acme.example", "TRC20 mode addresses") {
		t.Fatalf("audit %+v", log)
	}
}

func TestSettingsCheckout(t *testing.T) {
	e := newSettingsEdge(t)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")
	if p := s.get("/dashboard/settings/checkout"); p.status != 200 || !strings.Contains(p.body, `id="order_ttl"`) || !strings.Contains(p.body, `value="30m"`) {
		t.Fatalf("checkout page %d\n%s", p.status, p.body)
	}
	for _, c := range []struct {
		form       url.Values
		field, msg string
	}{
		{url.Values{"return_host": {"https://shop.example"}}, "return_host", "must be a host name"},
		{url.Values{"embed_origin": {"https://shop.example/path"}}, "embed_origin", "must be an origin"},
		{url.Values{"order_ttl": {"5s"}}, "order_ttl", "between 1m and 168h"},
		{url.Values{"order_ttl": {"200h"}}, "order_ttl", "between 1m and 168h"},
		{url.Values{"order_ttl": {"half an hour"}}, "order_ttl", "duration"},
	} {
		fieldRefused(t, s.post("/dashboard/settings/checkout", c.form), c.field, c.msg)
		if got := e.load(m.ID); got.OrderTTL != 0 || len(got.ReturnHosts) != 0 || len(got.EmbedOrigins) != 0 {
			t.Fatalf("%v stored %+v", c.form, got)
		}
	}
	r := s.post("/dashboard/settings/checkout", url.Values{"return_host": {"shop.example\nwww.shop.example"},
		"embed_origin": {"https://Shop.Example"}, "order_ttl": {"45m"}})
	if r.status != 303 || r.header.Get("Location") != "/dashboard/settings/checkout?lang=en&m=checkoutset" {
		t.Fatalf("good checkout: %d\n%s", r.status, r.body)
	}
	got := e.load(m.ID)
	if strings.Join(got.ReturnHosts, " ") != "shop.example www.shop.example" || strings.Join(got.EmbedOrigins, " ") != "https://shop.example" || got.OrderTTL != 45*time.Minute {
		t.Fatalf("stored %+v", got)
	}
	// The lists are replaced, not added to: empty return hosts = any host.
	if r := s.post("/dashboard/settings/checkout", url.Values{"return_host": {""}, "embed_origin": {"https://shop.example"}, "order_ttl": {"45m"}}); r.status != 303 {
		t.Fatalf("clear hosts: %d", r.status)
	}
	if got := e.load(m.ID); len(got.ReturnHosts) != 0 || len(got.EmbedOrigins) != 1 {
		t.Fatalf("after clearing: %+v", got)
	}
	if !hasAudit(e.auditOf(m.ID), dashboard.ActionCheckoutChanged, "ops@acme.example", "order ttl 45m") {
		t.Fatal("no audit of the checkout change")
	}
}

func TestSettingsBlocklist(t *testing.T) {
	e := newSettingsEdge(t)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	e.user(nil, "root@ops.example", "operator long password")
	const addr = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
	// The blocklist freezes orders of every merchant: a merchant's user neither sees nor
	// changes it.
	ms := e.session("ops@acme.example", "first long password")
	if r := ms.get("/dashboard/settings/blocklist"); r.status != 404 {
		t.Fatalf("merchant sees the blocklist: %d", r.status)
	}
	if r := ms.post("/dashboard/settings/blocklist", url.Values{"action": {"block"}, "network": {"ERC20"}, "address": {addr}}); r.status != 404 {
		t.Fatalf("merchant blocks: %d", r.status)
	}
	if strings.Contains(ms.get("/dashboard/settings").body, "/dashboard/settings/blocklist") {
		t.Fatal("a merchant's settings link the blocklist")
	}
	op := e.session("root@ops.example", "operator long password")
	for _, c := range []struct {
		form       url.Values
		field, msg string
	}{
		{url.Values{"network": {"ERC20"}, "address": {""}}, "address", "Enter a value."},
		{url.Values{"network": {"ERC20"}, "address": {"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"}}, "address", "Not accepted"},
		{url.Values{"network": {"DOGE"}, "address": {addr}}, "network", "Not accepted"},
	} {
		c.form.Set("action", "block")
		fieldRefused(t, op.post("/dashboard/settings/blocklist", c.form), c.field, c.msg)
	}
	if l, _ := e.st.Blocked(e.ctx, checkout.ERC20); len(l) != 0 {
		t.Fatalf("refused input blocked %v", l)
	}
	r := op.post("/dashboard/settings/blocklist", url.Values{"action": {"block"}, "network": {"ERC20"}, "address": {strings.ToLower(addr)}})
	if r.status != 303 {
		t.Fatalf("block: %d\n%s", r.status, r.body)
	}
	if ok, _ := e.st.IsBlocked(e.ctx, checkout.ERC20, addr); !ok {
		t.Fatal("not blocked (in its canonical form)")
	}
	if p := op.get("/dashboard/settings/blocklist"); !strings.Contains(p.body, addr) {
		t.Fatal("the blocklist page does not list it")
	}
	if r := op.post("/dashboard/settings/blocklist", url.Values{"action": {"unblock"}, "network": {"ERC20"}, "address": {"0x12"}}); r.status != 400 ||
		!strings.Contains(r.body, "<li>address: Not accepted") {
		t.Fatalf("unblock a malformed address: %d\n%s", r.status, r.body)
	}
	if r := op.post("/dashboard/settings/blocklist", url.Values{"action": {"unblock"}, "network": {"ERC20"}, "address": {addr}}); r.status != 303 {
		t.Fatalf("unblock: %d", r.status)
	}
	if ok, _ := e.st.IsBlocked(e.ctx, checkout.ERC20, addr); ok {
		t.Fatal("still blocked")
	}
	log := e.auditOf("")
	if !hasAudit(log, dashboard.ActionSenderBlocked, "root@ops.example", "ERC20 "+addr) || !hasAudit(log, dashboard.ActionSenderUnblocked, "root@ops.example", addr) {
		t.Fatalf("operators' audit %+v", log)
	}
}

// settingsPosts are every form of the settings pages with good input.
func settingsPosts(keyID string) []struct {
	path string
	form url.Values
} {
	return []struct {
		path string
		form url.Values
	}{
		{"/dashboard/settings/keys", url.Values{}},
		{"/dashboard/settings/keys/rotate", url.Values{"key_id": {keyID}}},
		{"/dashboard/settings/keys/revoke", url.Values{"key_id": {keyID}}},
		{"/dashboard/settings/webhook", url.Values{"webhook_url": {"https://evil.example/h"}}},
		{"/dashboard/settings/webhook/secret", url.Values{}},
		{"/dashboard/settings/receive/xpub", url.Values{"network": {"ERC20"}, "xpub": {devXPub(9)}}},
		{"/dashboard/settings/receive/mode", url.Values{"network": {"TRC20"}, "mode": {"addresses"}, "address": {"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"}}},
		{"/dashboard/settings/checkout", url.Values{"return_host": {"evil.example"}, "order_ttl": {"2h"}}},
		{"/dashboard/settings/blocklist", url.Values{"action": {"block"}, "network": {"ERC20"}, "address": {"0xdAC17F958D2ee523a2206206994597C13D831ec7"}}},
	}
}

func devXPub(account uint32) string {
	x, err := deposit.DevAccountXPub(checkout.ERC20, account)
	if err != nil {
		panic(err)
	}
	return x
}

var settingsGets = []string{"/dashboard/settings", "/dashboard/settings/keys", "/dashboard/settings/webhook",
	"/dashboard/settings/receive", "/dashboard/settings/checkout", "/dashboard/settings/blocklist"}

// unchanged fails unless the merchant's record and keys, and the blocklist, are as before.
func (e *edge) snapshot(merchantID string) string {
	e.t.Helper()
	m := e.load(merchantID)
	var b strings.Builder
	b.WriteString(m.WebhookURL + m.WebhookSecret + strings.Join(m.ReturnHosts, ",") + m.TTL().String() + m.XPubs[checkout.ERC20])
	if _, ok := m.Receive[checkout.TRC20]; ok {
		b.WriteString("receive")
	}
	for _, k := range e.keys(merchantID) {
		b.WriteString(k.ID)
		if k.RevokedAt != nil {
			b.WriteString("revoked")
		}
	}
	l, _ := e.st.Blocked(e.ctx, checkout.ERC20)
	b.WriteString(strings.Join(l, ","))
	return b.String()
}

// TestSettingsCSRF: every settings form needs the session's token and this origin; a refused
// one changes nothing.
func TestSettingsCSRF(t *testing.T) {
	e := newSettingsEdge(t)
	m, key := e.merchant("Acme Tea")
	e.user(nil, "root@ops.example", "operator long password")
	op := e.session("root@ops.example", "operator long password")
	before := e.snapshot(m.ID)
	for _, p := range settingsPosts(key.ID) {
		path := p.path + "?merchant=" + m.ID
		for name, c := range map[string]struct {
			token string
			hdr   map[string]string
		}{
			"no token":     {"", nil},
			"wrong token":  {op.csrf[:len(op.csrf)-1] + "x", nil},
			"cross-site":   {op.csrf, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
			"other origin": {op.csrf, map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
			"no origin":    {op.csrf, map[string]string{"Sec-Fetch-Site": "", "Origin": ""}},
		} {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			if c.token != "" {
				form.Set("csrf", c.token)
			}
			if r := e.do("POST", path, form, op.cookie, c.hdr); r.status != 403 {
				t.Errorf("%s %s: %d", name, p.path, r.status)
			}
		}
	}
	if after := e.snapshot(m.ID); after != before {
		t.Fatalf("refused requests changed the settings:\n%s\n%s", before, after)
	}
	// And with the token each form does change something (the test can fail).
	for _, p := range settingsPosts(key.ID) {
		if r := op.post(p.path+"?merchant="+m.ID, p.form); r.status != 200 && r.status != 303 {
			t.Fatalf("%s with its token: %d\n%s", p.path, r.status, r.body)
		}
	}
	if e.snapshot(m.ID) == before {
		t.Fatal("the forms changed nothing")
	}
}

// TestSettingsOtherMerchant404: a merchant's session naming another merchant gets 404 on
// every settings route, and that merchant's settings stay as they are.
func TestSettingsOtherMerchant404(t *testing.T) {
	e := newSettingsEdge(t)
	acme, _ := e.merchant("Acme Tea")
	other, otherKey := e.merchant("Other Shop")
	e.user(acme, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")
	before := e.snapshot(other.ID)
	for _, path := range settingsGets {
		if r := s.get(path + "?merchant=" + other.ID); r.status != 404 || strings.Contains(r.body, "Other Shop") {
			t.Errorf("GET %s of another merchant: %d", path, r.status)
		}
		if r := s.get(path + "?merchant=" + acme.ID); r.status != 200 && path != "/dashboard/settings/blocklist" {
			t.Errorf("GET %s of its own merchant, named: %d", path, r.status)
		}
	}
	for _, p := range settingsPosts(otherKey.ID) {
		if r := s.post(p.path+"?merchant="+other.ID, p.form); r.status != 404 {
			t.Errorf("POST %s for another merchant: %d", p.path, r.status)
		}
	}
	// Its own merchant named implicitly, another's key id: 404 too.
	for _, path := range []string{"/dashboard/settings/keys/rotate", "/dashboard/settings/keys/revoke"} {
		if r := s.post(path, url.Values{"key_id": {otherKey.ID}}); r.status != 404 {
			t.Errorf("%s of another merchant's key: %d", path, r.status)
		}
	}
	if after := e.snapshot(other.ID); after != before {
		t.Fatalf("another merchant's settings changed:\n%s\n%s", before, after)
	}
	if n := len(e.keys(acme.ID)); n != 1 {
		t.Fatalf("refused requests made keys: %d", n)
	}
}

// TestSettingsOperator: an operator chooses the merchant; an unknown one is 404; changes are
// audited in that merchant's log under the operator's name.
func TestSettingsOperator(t *testing.T) {
	e := newSettingsEdge(t)
	acme, _ := e.merchant("Acme Tea")
	e.merchant("Other Shop")
	e.user(nil, "root@ops.example", "operator long password")
	op := e.session("root@ops.example", "operator long password")
	p := op.get("/dashboard/settings/keys")
	if p.status != 200 || !strings.Contains(p.body, `<select id="merchant" name="merchant">`) || !strings.Contains(p.body, "Other Shop") || strings.Contains(p.body, `id="create-key"`) {
		t.Fatalf("operator without a merchant: %d\n%s", p.status, p.body)
	}
	if r := op.get("/dashboard/settings/keys?merchant=mer_nope"); r.status != 404 {
		t.Fatalf("unknown merchant: %d", r.status)
	}
	if r := op.post("/dashboard/settings/keys", nil); r.status != 404 {
		t.Fatalf("a form without a merchant: %d", r.status)
	}
	p = op.get("/dashboard/settings/keys?merchant=" + acme.ID)
	if p.status != 200 || !strings.Contains(p.body, `action="/dashboard/settings/keys?lang=en&amp;merchant=`+acme.ID+`"`) {
		t.Fatalf("operator's keys page of a merchant: %d\n%s", p.status, p.body)
	}
	id, secret := newKey(t, op.post("/dashboard/settings/keys?merchant="+acme.ID, nil))
	if err := e.apiErr(id, secret); err != nil {
		t.Fatal(err)
	}
	r := op.post("/dashboard/settings/webhook?merchant="+acme.ID, url.Values{"webhook_url": {"https://acme.example/h"}})
	if r.status != 303 || r.header.Get("Location") != "/dashboard/settings/webhook?lang=en&m=webhookset&merchant="+acme.ID {
		t.Fatalf("operator sets a webhook: %d %q", r.status, r.header.Get("Location"))
	}
	if !hasAudit(e.auditOf(acme.ID, secret), dashboard.ActionKeyCreated, "root@ops.example", id) {
		t.Fatal("the operator's change is not in the merchant's audit log")
	}
}

// TestSettingsChinese: the pages and a refusal in Chinese.
func TestSettingsChinese(t *testing.T) {
	e := newSettingsEdge(t)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")
	r := s.post("/dashboard/settings/webhook?lang=zh", url.Values{"webhook_url": {""}})
	if r.status != 400 || !strings.Contains(r.body, "请填写此项。") || !strings.Contains(r.body, "<h1>Webhook</h1>") {
		t.Fatalf("Chinese refusal: %d\n%s", r.status, r.body)
	}
	if r := s.get("/dashboard/settings/keys?lang=zh"); !strings.Contains(r.body, "创建新密钥") {
		t.Fatal("Chinese keys page")
	}
	_ = http.StatusOK
}

// TestSettingsStoredSettingRefused: a stored setting the rules now refuse (written before a
// rule existed) blocks a change as the command's does, and the page says which.
func TestSettingsStoredSettingRefused(t *testing.T) {
	e := newSettingsEdge(t)
	m, _ := e.merchant("Acme Tea")
	m.EmbedOrigins = []string{"shop.example/embed"}
	if err := e.st.PutMerchant(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	e.user(m, "ops@acme.example", "first long password")
	s := e.session("ops@acme.example", "first long password")
	r := s.post("/dashboard/settings/webhook", url.Values{"webhook_url": {"https://shop.example/h"}})
	if r.status != 400 || !strings.Contains(r.body, "<li>embed_origin: Not accepted: &#34;shop.example/embed&#34; must be an origin") {
		t.Fatalf("%d\n%s", r.status, r.body)
	}
	if got := e.load(m.ID).WebhookURL; got != "" {
		t.Fatalf("stored %q", got)
	}
}
