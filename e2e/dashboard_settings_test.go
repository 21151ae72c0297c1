package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/users"
)

// TestDashboardSettings drives the settings pages in Chromium with the keyboard: create an
// API key and sign a request with the secret the page shows once, rotate it (the old secret
// is refused at once, as `edge merchant rotate-key --revoke` does), revoke the new one;
// change the webhook URL with a bad value (the message beside the field, nothing stored)
// then a good one; and, as an operator, block a sender. Screenshots of every settings page
// at 1280 and 360 px go to artifacts/.
func TestDashboardSettings(t *testing.T) {
	base, svc, m := dashboardEdge(t)
	ctx := context.Background()
	st := svc.Store
	const pw = "green tea with honey"
	for _, u := range []users.CreateParams{{Email: "ops@acme.example", MerchantID: m.ID}, {Email: "root@ops.example", Operator: true}} {
		c, err := svc.CreateUser(ctx, u, users.OperatorActor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetPassword(ctx, c.Token, pw, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
	}
	tab := newTab(t, newBrowser(t))
	run := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	shot := func(name string) {
		t.Helper()
		for _, width := range []int64{1280, 360} {
			run(chromedp.EmulateViewport(width, 800))
			if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
				t.Errorf("%s: page is %d px wide on a %d px screen", name, wide, width)
			}
			png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			saveArtifact(t, fmt.Sprintf("dashboard-settings-%s-%d.png", name, width), png)
		}
		run(chromedp.EmulateViewport(1280, 800))
	}
	at := func(path string) {
		t.Helper()
		poll(t, tab, "location "+path, `location.pathname + location.search === `+jsString(path), 10*time.Second)
	}
	// wait is WaitVisible with a deadline (and the page's text when it times out).
	wait := func(sel string) {
		t.Helper()
		poll(t, tab, sel, `(e => e !== null && e.offsetParent !== null)(document.querySelector(`+jsString(sel)+`))`, 10*time.Second)
	}
	setValue := func(sel, v string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(e => (e.value = `+jsString(v)+`, true))(document.querySelector(`+jsString(sel)+`))`)); err != nil {
			t.Fatalf("set %s: %v", sel, err)
		}
	}
	press := func(sel string) { t.Helper(); run(chromedp.Focus(sel), chromedp.KeyEvent("\r")) }
	signIn := func(email string) {
		t.Helper()
		run(chromedp.Navigate(base+"/dashboard/login"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", pw+"\r"))
		poll(t, tab, "signed in", `location.pathname === '/dashboard'`, 10*time.Second)
	}
	apiErr := func(id, secret string) error {
		_, err := client.New(base, id, secret).ListOrders(ctx, &client.ListParams{})
		return err
	}
	revoked := func(err error) bool {
		var ce *client.Error
		return errors.As(err, &ce) && ce.Code == checkout.CodeRevokedAPIKey
	}

	signIn("ops@acme.example")
	run(chromedp.Navigate(base + "/dashboard/settings"))
	wait("#settings-merchant")
	if got := text("#settings-merchant"); got != m.Name {
		t.Fatalf("overview names %q", got)
	}
	shot("overview")

	// Create a key: its secret is on the page answering the POST, not in its URL.
	run(chromedp.Navigate(base + "/dashboard/settings/keys"))
	wait("#create-key")
	shot("keys")
	press("#create-key")
	wait("#new-secret")
	id, secret := text("#new-key-id"), text("#new-secret")
	if loc, _ := chromedp.Run(tab, chromedp.Location()); strings.Contains(loc, secret) || !strings.HasPrefix(secret, "sk_") {
		t.Fatalf("secret %q at %s", secret, loc)
	}
	shot("newkey")
	if err := apiErr(id, secret); err != nil {
		t.Fatalf("a request signed with the new key: %v", err)
	}

	// Rotate it: a new secret, the old one refused from now on.
	press("#secret-done")
	at("/dashboard/settings/keys?lang=en")
	press("#rotate-" + id)
	wait("#revoked-note")
	id2, secret2 := text("#new-key-id"), text("#new-secret")
	if id2 == id || secret2 == secret {
		t.Fatal("rotation gave the same key")
	}
	if err := apiErr(id2, secret2); err != nil {
		t.Fatalf("the rotated key: %v", err)
	}
	if err := apiErr(id, secret); !revoked(err) {
		t.Fatalf("the replaced key still signs: %v", err)
	}

	// Revoke the new one.
	run(chromedp.Navigate(base + "/dashboard/settings/keys"))
	wait("#revoke-" + id2)
	press("#revoke-" + id2)
	at("/dashboard/settings/keys?lang=en&m=keyrevoked")
	if err := apiErr(id2, secret2); !revoked(err) {
		t.Fatalf("the revoked key still signs: %v", err)
	}
	if strings.Contains(text("#keys"), secret2) {
		t.Fatal("the keys page shows a secret")
	}

	// The webhook URL: a bad value is refused beside the field and nothing is stored; then a
	// good one.
	run(chromedp.Navigate(base+"/dashboard/settings/webhook"), chromedp.WaitVisible("#webhook_url"),
		chromedp.SendKeys("#webhook_url", "http://shop.example/hook\r"))
	wait("#webhook_url-error")
	if msg := text("#webhook_url-error"); !strings.Contains(msg, "https") {
		t.Fatalf("error beside the field: %q", msg)
	}
	if inv, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.activeElement && document.querySelector('#webhook_url').getAttribute('aria-invalid')`)); inv != "true" {
		t.Fatalf("aria-invalid %q", inv)
	}
	if got, _ := st.Merchant(ctx, m.ID); got.WebhookURL != "" {
		t.Fatalf("a refused URL was stored: %q", got.WebhookURL)
	}
	shot("webhook-refused")
	setValue("#webhook_url", "")
	run(chromedp.SendKeys("#webhook_url", "https://shop.example/hooks/mp\r"))
	at("/dashboard/settings/webhook?lang=en&m=webhookset")
	if got := text("#webhook-current"); got != "https://shop.example/hooks/mp" {
		t.Fatalf("current webhook URL %q", got)
	}
	if got, _ := st.Merchant(ctx, m.ID); got.WebhookURL != "https://shop.example/hooks/mp" {
		t.Fatalf("stored %q", got.WebhookURL)
	}
	shot("webhook")

	for _, p := range []string{"receive", "checkout"} {
		run(chromedp.Navigate(base + "/dashboard/settings/" + p))
		wait("main h1")
		shot(p)
	}
	run(chromedp.Navigate(base + "/dashboard/settings/receive?lang=zh"))
	wait("main h1")
	if h := text("main h1"); h != "收款设置" {
		t.Fatalf("Chinese receive page: %q", h)
	}
	shot("receive-zh")

	// As an operator: the merchant selector, and the blocklist.
	run(chromedp.Navigate(base + "/dashboard"))
	wait("#signout")
	press("#signout")
	at("/dashboard/login?m=signedout&lang=en")
	signIn("root@ops.example")
	run(chromedp.Navigate(base + "/dashboard/settings/keys"))
	wait("#merchant")
	shot("operator-choose")
	setValue("#merchant", m.ID)
	press("form.chooser button")
	wait("#create-key")
	run(chromedp.Navigate(base+"/dashboard/settings/blocklist"), chromedp.WaitVisible("#address"))
	setValue("#network", "ERC20")
	run(chromedp.SendKeys("#address", "0xdac17f958d2ee523a2206206994597c13d831ec7\r"))
	at("/dashboard/settings/blocklist?lang=en&m=blocked")
	if got := text("#blocked-erc20"); !strings.Contains(got, "0xdAC17F958D2ee523a2206206994597C13D831ec7") {
		t.Fatalf("blocklist shows %q", got)
	}
	shot("blocklist")

	// Every change is in the audit log, without a secret.
	log, err := st.Audit(ctx, m.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		if strings.Contains(e.Detail, secret) || strings.Contains(e.Detail, secret2) {
			t.Fatalf("audit entry with a secret: %+v", e)
		}
		if strings.HasPrefix(e.Action, "settings.") {
			got = append(got, e.Action)
		}
	}
	if want := "settings.webhook_url_changed settings.key_revoked settings.key_rotated settings.key_created"; strings.Join(got, " ") != want {
		t.Fatalf("audit log:\n got %v\nwant %s", got, want)
	}
}
