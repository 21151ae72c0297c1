package dashboard_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/feed"
)

var netipZero netip.Addr

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// edge is the real edge route table (merchant API and all) with the dashboard mounted, on a
// loopback listener over the test's own Redis prefix.
type edge struct {
	t     *testing.T
	url   string
	st    *store.Store
	svc   *users.Service
	clock *clock
	ctx   context.Context
	// feed is a watcher's feed of network n on the edge's Redis and prefix (newFullEdge only).
	feed func(n checkout.Network) *feed.Feed
}

func newEdge(t *testing.T, dev bool) *edge {
	t.Helper()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	svc := &users.Service{Store: st, Now: c.Now, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	d, err := dashboard.New(dashboard.Config{Users: svc, Merchants: st, Origin: base, Dev: dev})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: &orders.Service{Store: st, PublicURL: base}, Auth: &auth.Verifier{Keys: st},
		Dev: true, ExtraRoutes: d.Routes}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })
	return &edge{t: t, url: base, st: st, svc: svc, clock: c, ctx: context.Background()}
}

func (e *edge) merchant(name string) (*checkout.Merchant, *checkout.APIKey) {
	e.t.Helper()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{}, CreatedAt: time.Now(), RateLimit: 1000}
	k := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_" + ids.Key()}
	if err := e.st.CreateMerchant(e.ctx, m, k, nil); err != nil {
		e.t.Fatal(err)
	}
	return m, k
}

// user makes a user (of merchant m, or an operator when m is nil) with a password set.
func (e *edge) user(m *checkout.Merchant, email, pw string) *store.User {
	e.t.Helper()
	p := users.CreateParams{Email: email, Operator: m == nil}
	if m != nil {
		p.MerchantID = m.ID
	}
	c, err := e.svc.CreateUser(e.ctx, p, users.OperatorActor)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.SetPassword(e.ctx, c.Token, pw, netipZero); err != nil {
		e.t.Fatal(err)
	}
	return c.User
}

// resp is an answer, read whole.
type resp struct {
	status int
	header http.Header
	body   string
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request as a same-origin browser form would (Origin and Sec-Fetch-Site set for
// POSTs unless hdr overrides them; an empty value removes one).
func (e *edge) do(method, path string, form url.Values, cookie string, hdr map[string]string) resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", e.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if cookie != "" {
		req.Header.Set("Cookie", dashboard.CookieName+"="+cookie)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// login signs in through the form and returns the session cookie's value.
func (e *edge) login(email, pw, code string) string {
	e.t.Helper()
	r := e.do("POST", "/dashboard/login", url.Values{"email": {email}, "password": {pw}, "code": {code}}, "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard" {
		e.t.Fatalf("sign in: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == dashboard.CookieName {
			return c.Value
		}
	}
	e.t.Fatal("no session cookie")
	return ""
}

var csrfRE = regexp.MustCompile(`name="csrf" type="hidden" value="([^"]+)"|type="hidden" name="csrf" value="([^"]+)"|name="csrf"[^>]*value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in\n%s", page)
	}
	return m[1] + m[2] + m[3]
}

func TestSetPasswordSignInSignOut(t *testing.T) {
	e := newEdge(t, false)
	m, _ := e.merchant("Acme Tea")
	created, err := e.svc.CreateUser(e.ctx, users.CreateParams{Email: "ops@acme.example", MerchantID: m.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	link := "/dashboard/set-password?token=" + created.Token

	page := e.do("GET", link, nil, "", nil)
	if page.status != 200 || !strings.Contains(page.body, "ops@acme.example") || !strings.Contains(page.body, `value="`+created.Token+`"`) {
		t.Fatalf("set-password page %d\n%s", page.status, page.body)
	}
	checkHeaders(t, page)
	form := url.Values{"token": {created.Token}, "password": {"tea leaves and honey"}, "confirm": {"tea leaves and honey!"}}
	if r := e.do("POST", "/dashboard/set-password", form, "", nil); r.status != 400 || !strings.Contains(r.body, "The two passwords differ.") {
		t.Fatalf("mismatch: %d\n%s", r.status, r.body)
	}
	form.Set("password", "short")
	form.Set("confirm", "short")
	if r := e.do("POST", "/dashboard/set-password", form, "", nil); r.status != 400 || !strings.Contains(r.body, "at least 12 characters") {
		t.Fatalf("short: %d\n%s", r.status, r.body)
	}
	form.Set("password", "tea leaves and honey")
	form.Set("confirm", "tea leaves and honey")
	r := e.do("POST", "/dashboard/set-password", form, "", nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard/login?m=pwset" {
		t.Fatalf("set: %d %q", r.status, r.header.Get("Location"))
	}
	if r := e.do("GET", link, nil, "", nil); r.status != 404 || !strings.Contains(r.body, "This link is not valid") {
		t.Fatalf("used link: %d", r.status)
	}
	if r := e.do("GET", "/dashboard/login?m=pwset", nil, "", nil); !strings.Contains(r.body, "Your password is set") {
		t.Fatalf("login page after setting:\n%s", r.body)
	}

	// Sign in: the cookie's attributes.
	r = e.do("POST", "/dashboard/login", url.Values{"email": {"ops@acme.example"}, "password": {"tea leaves and honey"}}, "", nil)
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{dashboard.CookieName + "=", "; path=/dashboard", "; HttpOnly", "; secure", "; SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	cookie := (&http.Response{Header: r.header}).Cookies()[0].Value
	home := e.do("GET", "/dashboard", nil, cookie, nil)
	if home.status != 200 || !strings.Contains(home.body, `<dd id="merchant-name">Acme Tea</dd>`) || !strings.Contains(home.body, "Sign out everywhere") {
		t.Fatalf("landing %d\n%s", home.status, home.body)
	}
	checkHeaders(t, home)
	// The session is stored hashed: the cookie's value is no key.
	if _, err := e.st.Session(e.ctx, cookie); err == nil {
		t.Fatal("the session id itself names a session record")
	}

	// Sign out: the cookie is cleared and the session is over.
	r = e.do("POST", "/dashboard/logout", url.Values{"csrf": {csrfOf(t, home.body)}}, cookie, nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard/login?m=signedout" || !strings.Contains(r.header.Get("Set-Cookie"), "max-age=0") &&
		!strings.Contains(r.header.Get("Set-Cookie"), "expires=") {
		t.Fatalf("sign out: %d %q %q", r.status, r.header.Get("Location"), r.header.Get("Set-Cookie"))
	}
	if r := e.do("GET", "/dashboard", nil, cookie, nil); r.status != 303 || r.header.Get("Location") != "/dashboard/login?m=expired" {
		t.Fatalf("after sign out: %d %q", r.status, r.header.Get("Location"))
	}
	// And the audit log has it all, with the client.
	log, _ := e.svc.Audit(e.ctx, m.ID, 20)
	var got []string
	for _, a := range log {
		got = append(got, a.Action+"@"+a.IP)
	}
	if strings.Join(got, " ") != "logout@127.0.0.1 login.succeeded@127.0.0.1 password.set@127.0.0.1 password.link_issued@ user.created@" {
		t.Fatalf("audit %v", got)
	}
}

// checkHeaders: a strict CSP with no script source, no framing, no caching, and no script or
// external asset in the page.
func checkHeaders(t *testing.T, r resp) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows scripts: %q", csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
		"X-Content-Type-Options": "nosniff"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if strings.Contains(r.body, "<script") || strings.Contains(r.body, "http://") && !strings.Contains(r.body, `xmlns="http://www.w3.org/2000/svg"`) ||
		strings.Contains(r.body, "https://") {
		t.Errorf("page loads or runs something:\n%s", r.body)
	}
}

func TestCSRF(t *testing.T) {
	e := newEdge(t, false)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "a@acme.example", "first long password")
	e.user(m, "b@acme.example", "second long password")
	a := e.login("a@acme.example", "first long password", "")
	b := e.login("b@acme.example", "second long password", "")
	tokenA := csrfOf(t, e.do("GET", "/dashboard", nil, a, nil).body)
	tokenB := csrfOf(t, e.do("GET", "/dashboard", nil, b, nil).body)
	if tokenA == tokenB {
		t.Fatal("two sessions share a CSRF token")
	}
	for _, c := range []struct {
		name  string
		token string
		hdr   map[string]string
	}{
		{"no token", "", nil},
		{"another session's token", tokenB, nil},
		{"a token one character off", tokenA[:len(tokenA)-1] + "x", nil},
		{"cross-site (Sec-Fetch-Site)", tokenA, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"same-site but another origin", tokenA, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"another Origin, no Sec-Fetch-Site", tokenA, map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
		{"Origin null", tokenA, map[string]string{"Sec-Fetch-Site": "", "Origin": "null"}},
		{"neither header", tokenA, map[string]string{"Sec-Fetch-Site": "", "Origin": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/dashboard/logout", "/dashboard/logout-all", "/dashboard/totp"} {
				form := url.Values{"code": {"123456"}}
				if c.token != "" {
					form.Set("csrf", c.token)
				}
				if r := e.do("POST", path, form, a, c.hdr); r.status != 403 {
					t.Fatalf("%s: %d", path, r.status)
				}
			}
			if r := e.do("GET", "/dashboard", nil, a, nil); r.status != 200 {
				t.Fatalf("the refused request ended the session: %d", r.status)
			}
		})
	}
	// Sign-in and set-password forms are same-origin only too (no login CSRF).
	for _, path := range []string{"/dashboard/login", "/dashboard/set-password"} {
		if r := e.do("POST", path, url.Values{"email": {"a@acme.example"}, "password": {"first long password"}}, "",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); r.status != 403 || r.header.Get("Set-Cookie") != "" {
			t.Fatalf("cross-site %s: %d %q", path, r.status, r.header.Get("Set-Cookie"))
		}
	}
	// Without Sec-Fetch-Site (an older browser) the right Origin passes.
	r := e.do("POST", "/dashboard/logout-all", url.Values{"csrf": {tokenA}}, a, map[string]string{"Sec-Fetch-Site": ""})
	if r.status != 303 || r.header.Get("Location") != "/dashboard/login?m=signedoutall" {
		t.Fatalf("sign out everywhere: %d %q", r.status, r.header.Get("Location"))
	}
	if r := e.do("GET", "/dashboard", nil, a, nil); r.status != 303 {
		t.Fatalf("session after sign out everywhere: %d", r.status)
	}
	if r := e.do("GET", "/dashboard", nil, b, nil); r.status != 200 {
		t.Fatalf("another user's session ended: %d", r.status)
	}
}

func TestMerchantsSeeOnlyTheirOwn(t *testing.T) {
	e := newEdge(t, false)
	acme, _ := e.merchant("Acme Tea")
	other, _ := e.merchant("Other Shop")
	e.user(acme, "ops@acme.example", "first long password")
	e.user(other, "ops@other.example", "second long password")
	e.user(nil, "root@ops.example", "operator long password")
	for _, c := range []struct{ email, pw, want, not string }{
		{"ops@acme.example", "first long password", `<dd id="merchant-name">Acme Tea</dd>`, "Other Shop"},
		{"ops@other.example", "second long password", `<dd id="merchant-name">Other Shop</dd>`, "Acme Tea"},
	} {
		home := e.do("GET", "/dashboard", nil, e.login(c.email, c.pw, ""), nil)
		if !strings.Contains(home.body, c.want) || strings.Contains(home.body, c.not) {
			t.Errorf("%s's landing page:\n%s", c.email, home.body)
		}
	}
	home := e.do("GET", "/dashboard", nil, e.login("root@ops.example", "operator long password", ""), nil)
	if !strings.Contains(home.body, "<li>Acme Tea</li><li>Other Shop</li>") || !strings.Contains(home.body, `id="operator"`) {
		t.Errorf("operator's landing page:\n%s", home.body)
	}
}

// TestAPIAndDashboardAreSeparate: a dashboard session cannot call the signed merchant API
// (it ignores cookies), and an API key cannot open the dashboard.
func TestAPIAndDashboardAreSeparate(t *testing.T) {
	e := newEdge(t, false)
	m, key := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	cookie := e.login("ops@acme.example", "first long password", "")
	for _, c := range []struct{ method, path string }{{"GET", "/v1/orders"}, {"POST", "/v1/orders"}, {"GET", "/v1/transfers"}} {
		r := e.do(c.method, c.path, url.Values{}, cookie, nil)
		if r.status != 401 || !strings.Contains(r.body, `"type":"authentication_error"`) {
			t.Errorf("%s %s with the session cookie: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	// The API key works on the API…
	cl := client.New(e.url, key.ID, key.Secret)
	if _, err := cl.ListOrders(e.ctx, &client.ListParams{}); err != nil {
		t.Fatalf("the key on the API: %v", err)
	}
	// …but a signed Authorization header opens no dashboard page…
	req, _ := http.NewRequest("GET", e.url+"/dashboard", nil)
	req.Header.Set("Authorization", client.Authorization(key.ID, key.Secret, time.Now().Unix(), "GET", "/dashboard", nil))
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/dashboard/login" {
		t.Fatalf("dashboard with an API key: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	// …and its id and secret are no e-mail address and password.
	r := e.do("POST", "/dashboard/login", url.Values{"email": {key.ID}, "password": {key.Secret}}, "", nil)
	if r.status != 401 || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("sign in with the API key: %d", r.status)
	}
}

func TestDisabledUserIsSignedOut(t *testing.T) {
	e := newEdge(t, false)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	cookie := e.login("ops@acme.example", "first long password", "")
	if _, err := e.svc.Disable(e.ctx, "ops@acme.example", users.OperatorActor, netipZero); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/dashboard", nil, cookie, nil); r.status != 303 || r.header.Get("Location") != "/dashboard/login?m=expired" {
		t.Fatalf("disabled user's page: %d %q", r.status, r.header.Get("Location"))
	}
	r := e.do("POST", "/dashboard/login", url.Values{"email": {"ops@acme.example"}, "password": {"first long password"}}, "", nil)
	if r.status != 401 || !strings.Contains(r.body, "The e-mail address, password or authentication code is not right.") {
		t.Fatalf("disabled user signs in: %d", r.status)
	}
}

func TestSessionIdleTimeoutOverHTTP(t *testing.T) {
	e := newEdge(t, false)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	cookie := e.login("ops@acme.example", "first long password", "")
	e.clock.Add(users.DefaultIdleTimeout - time.Second)
	if r := e.do("GET", "/dashboard", nil, cookie, nil); r.status != 200 {
		t.Fatalf("before the idle timeout: %d", r.status)
	}
	e.clock.Add(users.DefaultIdleTimeout)
	if r := e.do("GET", "/dashboard", nil, cookie, nil); r.status != 303 {
		t.Fatalf("after the idle timeout: %d", r.status)
	}
}

func TestTOTPOverHTTP(t *testing.T) {
	e := newEdge(t, false)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	cookie := e.login("ops@acme.example", "first long password", "")
	page := e.do("GET", "/dashboard/totp", nil, cookie, nil)
	sec := regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`).FindStringSubmatch(page.body)
	if page.status != 200 || sec == nil || !strings.Contains(page.body, "<svg") || !strings.Contains(page.body, `href="otpauth://totp/`) {
		t.Fatalf("enroll page %d\n%s", page.status, page.body)
	}
	checkHeaders(t, page)
	secret := strings.ReplaceAll(sec[1], " ", "")
	token := csrfOf(t, page.body)
	if r := e.do("POST", "/dashboard/totp", url.Values{"csrf": {token}, "code": {"000000"}}, cookie, nil); r.status != 400 ||
		!strings.Contains(r.body, "The code does not match") {
		t.Fatalf("wrong code: %d", r.status)
	}
	code, _ := totp.GenerateCode(secret, e.clock.Now())
	if r := e.do("POST", "/dashboard/totp", url.Values{"csrf": {token}, "code": {code}}, cookie, nil); r.status != 303 || r.header.Get("Location") != "/dashboard?m=totp" {
		t.Fatalf("confirm: %d %q", r.status, r.header.Get("Location"))
	}
	if r := e.do("GET", "/dashboard", nil, cookie, nil); !strings.Contains(r.body, "Two-factor authentication is on.") {
		t.Fatal("landing page does not show the second factor on")
	}
	// Signing in now needs a code; the one used to enroll is spent.
	r := e.do("POST", "/dashboard/login", url.Values{"email": {"ops@acme.example"}, "password": {"first long password"}}, "", nil)
	if r.status != 401 || !strings.Contains(r.body, "Enter the code from your authenticator app.") {
		t.Fatalf("no code: %d\n%s", r.status, r.body)
	}
	if r := e.do("POST", "/dashboard/login", url.Values{"email": {"ops@acme.example"}, "password": {"first long password"}, "code": {code}}, "", nil); r.status != 401 {
		t.Fatalf("replayed code: %d", r.status)
	}
	e.clock.Add(30 * time.Second)
	code, _ = totp.GenerateCode(secret, e.clock.Now())
	e.login("ops@acme.example", "first long password", code)
}

func TestThrottledSignIn(t *testing.T) {
	e := newEdge(t, false)
	e.svc.LoginLimitIP = store.Limit{Burst: 2, Every: time.Hour}
	for range 2 {
		if r := e.do("POST", "/dashboard/login", url.Values{"email": {"x@acme.example"}, "password": {"wrong"}}, "", nil); r.status != 401 {
			t.Fatalf("failure: %d", r.status)
		}
	}
	r := e.do("POST", "/dashboard/login", url.Values{"email": {"y@acme.example"}, "password": {"wrong"}}, "", nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many attempts") {
		t.Fatalf("throttled: %d %q", r.status, r.header.Get("Retry-After"))
	}
}

func TestChineseAndDevCookie(t *testing.T) {
	e := newEdge(t, true)
	m, _ := e.merchant("Acme Tea")
	e.user(m, "ops@acme.example", "first long password")
	r := e.do("GET", "/dashboard/login", nil, "", map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
	if !strings.Contains(r.body, `<html lang="zh">`) || !strings.Contains(r.body, "<h1>登录</h1>") || !strings.Contains(r.body, `action="/dashboard/login?lang=zh"`) {
		t.Fatalf("Chinese sign-in page:\n%s", r.body)
	}
	if r := e.do("GET", "/dashboard/login?lang=en", nil, "", map[string]string{"Accept-Language": "zh-CN"}); !strings.Contains(r.body, "<h1>Sign in</h1>") {
		t.Fatal("?lang=en does not win over Accept-Language")
	}
	r = e.do("POST", "/dashboard/login?lang=zh", url.Values{"email": {"ops@acme.example"}, "password": {"first long password"}}, "", nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard?lang=zh" || strings.Contains(strings.ToLower(r.header.Get("Set-Cookie")), "secure") {
		t.Fatalf("dev sign-in: %d %q %q", r.status, r.header.Get("Location"), r.header.Get("Set-Cookie"))
	}
	r = e.do("POST", "/dashboard/login?lang=zh", url.Values{"email": {"ops@acme.example"}, "password": {"wrong password"}}, "", nil)
	if !strings.Contains(r.body, "电子邮箱、密码或验证码不正确。") {
		t.Fatalf("Chinese error:\n%s", r.body)
	}
}

func TestNoticeIsNotInjectable(t *testing.T) {
	e := newEdge(t, false)
	r := e.do("GET", "/dashboard/login?m=%3Cb%3Ehi&lang=%22%3E%3Cscript%3E", nil, "", nil)
	if r.status != 200 || strings.Contains(r.body, "<b>hi") || strings.Contains(r.body, "<script") {
		t.Fatalf("page with hostile query:\n%s", r.body)
	}
}

// TestTextComplete: every string exists in every language.
func TestTextComplete(t *testing.T) {
	for key := range dashboard.Text["en"] {
		if dashboard.Text["zh"][key] == "" {
			t.Errorf("zh lacks %q", key)
		}
	}
	for key := range dashboard.Text["zh"] {
		if dashboard.Text["en"][key] == "" {
			t.Errorf("en lacks %q", key)
		}
	}
}
