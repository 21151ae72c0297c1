package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

// dashboardEdge is the edge's route table with the dashboard mounted (dev mode: the cookie
// goes over http on loopback), on the test's own Redis prefix, and one merchant.
func dashboardEdge(t *testing.T) (base string, svc *users.Service, m *checkout.Merchant) {
	t.Helper()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	// Cheap hashes: the browser test is about the pages, edge/users tests the costs.
	svc = &users.Service{Store: st, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + ln.Addr().String()
	svcOrders := &orders.Service{Store: st, PublicURL: base}
	d, err := dashboard.New(dashboard.Config{Users: svc, Store: st, Actions: svcOrders, Origin: base, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: svcOrders, Auth: &auth.Verifier{Keys: st},
		Dev: true, ExtraRoutes: d.Routes}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })
	m = &checkout.Merchant{ID: ids.Merchant(), Name: "Acme Tea 茶", XPubs: map[checkout.Network]string{}, CreatedAt: time.Now()}
	if err := st.CreateMerchant(context.Background(), m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk"}, nil); err != nil {
		t.Fatal(err)
	}
	return base, svc, m
}

// TestDashboardSignIn drives the dashboard in Chromium with the keyboard: set a password from
// the operator's link, sign in, see the landing page, sign out; then turn on TOTP (the code
// computed here from the secret the page shows), sign out everywhere, and sign in with a code.
// Screenshots at 360 and 1280 px go to artifacts/.
func TestDashboardSignIn(t *testing.T) {
	base, svc, m := dashboardEdge(t)
	ctx := context.Background()
	created, err := svc.CreateUser(ctx, users.CreateParams{Email: "ops@acme.example", MerchantID: m.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "green tea with honey"
	tab := newTab(t, newBrowser(t))
	shot := func(name string, width int64) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 800)); err != nil {
			t.Fatal(err)
		}
		if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
			t.Errorf("%s: page is %d px wide on a %d px screen", name, wide, width)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // quality 100 = PNG
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, fmt.Sprintf("dashboard-%s-%d.png", name, width), png)
	}
	at := func(path string) {
		t.Helper()
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		// Forms post with the page's language, which the redirect keeps.
		poll(t, tab, "location "+path, `[`+jsString(path)+`, `+jsString(path+sep+"lang=en")+`, `+jsString(path+sep+"lang=zh")+
			`].includes(location.pathname + location.search)`, 10*time.Second)
	}
	signIn := func(code string) {
		t.Helper()
		keys := []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/dashboard/login"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", "ops@acme.example"), chromedp.SendKeys("#password", pw)}
		if code != "" {
			keys = append(keys, chromedp.SendKeys("#code", code))
		}
		keys = append(keys, chromedp.SendKeys("#password", "\r")) // Enter submits
		if err := chromedp.Do(tab, keys...); err != nil {
			t.Fatal(err)
		}
		at("/dashboard")
	}

	// The link: set a password (Enter in the second field submits).
	if err := chromedp.Do(tab, chromedp.EmulateViewport(360, 800), chromedp.Navigate(base+"/dashboard/set-password?token="+created.Token),
		chromedp.WaitVisible("#password")); err != nil {
		t.Fatal(err)
	}
	shot("set-password", 360)
	if err := chromedp.Do(tab, chromedp.SendKeys("#password", pw), chromedp.SendKeys("#confirm", pw+"\r")); err != nil {
		t.Fatal(err)
	}
	at("/dashboard/login?m=pwset")
	shot("login", 360)
	shot("login", 1280)

	// Sign in: the landing page names the merchant; the cookie is HttpOnly (scripts cannot
	// read it: document.cookie is empty).
	signIn("")
	if name, err := chromedp.Run(tab, chromedp.Text("#merchant-name")); err != nil || name != m.Name {
		t.Fatalf("merchant on the landing page: %q %v", name, err)
	}
	if c, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.cookie`)); c != "" {
		t.Fatalf("document.cookie = %q", c)
	}
	shot("home", 360)
	shot("home", 1280)

	// Sign out with the keyboard: focus the button, press Enter.
	if err := chromedp.Do(tab, chromedp.Focus("#signout"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	at("/dashboard/login?m=signedout")
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/dashboard")); err != nil {
		t.Fatal(err)
	}
	at("/dashboard/login")

	// TOTP: enroll from the landing page's link, confirm with the code of now.
	signIn("")
	if err := chromedp.Do(tab, chromedp.Click("#totp-setup"), chromedp.WaitVisible("#totp-secret")); err != nil {
		t.Fatal(err)
	}
	shot("totp", 360)
	shot("totp", 1280)
	secret, err := chromedp.Run(tab, chromedp.Text("#totp-secret"))
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.ReplaceAll(secret, " ", "")
	now := time.Now()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.SendKeys("#code", code+"\r")); err != nil {
		t.Fatal(err)
	}
	at("/dashboard?m=totp")
	if s, _ := chromedp.Run(tab, chromedp.Text("#totp-state")); s != "Two-factor authentication is on." {
		t.Fatalf("landing page after enrolling: %q", s)
	}

	// Sign out everywhere, then sign in again: a password alone is no longer enough; the
	// next step's code (the enrollment code is spent) is.
	if err := chromedp.Do(tab, chromedp.Focus("#signout-all"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	at("/dashboard/login?m=signedoutall")
	if err := chromedp.Do(tab, chromedp.SendKeys("#email", "ops@acme.example"), chromedp.SendKeys("#password", pw+"\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "code asked for", `document.querySelector('[role=alert]') !== null && document.querySelector('[role=alert]').textContent.includes('authenticator app')`, 10*time.Second)
	next, _ := totp.GenerateCode(secret, now.Add(30*time.Second))
	signIn(next)
	if name, _ := chromedp.Run(tab, chromedp.Text("#merchant-name")); name != m.Name {
		t.Fatalf("merchant after signing in with a code: %q", name)
	}

	// In Chinese, at 360 px.
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/dashboard?lang=zh"), chromedp.WaitVisible("#signout")); err != nil {
		t.Fatal(err)
	}
	if b, _ := chromedp.Run(tab, chromedp.Text("#signout")); b != "退出登录" {
		t.Fatalf("Chinese sign-out button: %q", b)
	}
	shot("home-zh", 360)

	log, _ := svc.Audit(ctx, m.ID, 50)
	var got []string
	for _, e := range log {
		got = append(got, e.Action)
	}
	want := "login.succeeded login.failed sessions.revoked totp.enrolled login.succeeded logout login.succeeded password.set password.link_issued user.created"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit log:\n got %v\nwant %s", got, want)
	}
}
