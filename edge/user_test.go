package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUserCommands: create prints a working link once, the operator's actions are audited,
// disable shows, and bad command lines are refused before anything is stored.
func TestUserCommands(t *testing.T) {
	o := newOperator(t)
	m := o.must("create", "--name", "Acme Tea", "--dev")
	mid := m["merchant_id"].(string)
	run := func(cmd func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := cmd(context.Background(), append(args, o.redis...), &out, &errOut)
		return out.String(), err
	}
	user := func(ctx context.Context, a []string, out, errOut *bytes.Buffer) error {
		return userCmd(ctx, a, out, errOut)
	}
	audit := func(ctx context.Context, a []string, out, errOut *bytes.Buffer) error {
		return auditCmd(ctx, a, out, errOut)
	}

	out, err := run(user, "create", "--merchant", mid, "--email", "Ops@Acme.example", "--public-url", "https://pay.example.com")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		User struct {
			Email      string `json:"email"`
			MerchantID string `json:"merchant_id"`
		} `json:"user"`
		URL string `json:"set_password_url"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if created.User.Email != "ops@acme.example" || created.User.MerchantID != mid ||
		!strings.HasPrefix(created.URL, "https://pay.example.com/dashboard/set-password?token=") || len(created.URL) != len("https://pay.example.com/dashboard/set-password?token=")+43 {
		t.Fatalf("create printed %s", out)
	}
	for _, bad := range [][]string{
		{"create", "--email", "x@acme.example"},
		{"create", "--email", "x@acme.example", "--merchant", mid, "--operator"},
		{"create", "--email", "x@acme.example", "--merchant", "mer_nope"},
		{"create", "--email", "ops@acme.example", "--merchant", mid},
		{"create", "--email", "x@acme.example", "--merchant", mid, "--public-url", "ftp://x"},
		{"disable", "--email", "nobody@acme.example"},
	} {
		if _, err := run(user, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if out, err := run(user, "list"); err != nil || strings.Count(out, `"email"`) != 1 || strings.Contains(out, "argon2") {
		t.Fatalf("list: %v %s", err, out)
	}
	if out, err := run(user, "disable", "--email", "ops@acme.example"); err != nil || !strings.Contains(out, `"disabled_at"`) {
		t.Fatalf("disable: %v %s", err, out)
	}
	out, err = run(audit, "--merchant", mid)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var actions []string
	for _, l := range lines {
		var e struct{ Action, Actor string }
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Actor != "operator (command line)" {
			t.Fatalf("audit line %q: %v", l, err)
		}
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "user.disabled password.link_issued user.created" {
		t.Fatalf("audit %v", actions)
	}
	if _, err := run(audit); err == nil {
		t.Fatal("audit without --merchant or --operator accepted")
	}
}

// TestServeDashboard: `edge serve` has no dashboard unless --dashboard; with it, a user made by
// `edge user create` sets a password from the printed link and signs in.
func TestServeDashboard(t *testing.T) {
	off, err := startServe(t, "--metrics-listen", "off")
	if err != nil {
		t.Fatal(err)
	}
	if s := status(t, off+"/dashboard/login"); s != 404 {
		t.Fatalf("dashboard off: %d", s)
	}

	o := newOperator(t)
	prefix := o.redis[3]
	base, err := startServe(t, "--metrics-listen", "off", "--dev", "--dashboard", "--redis-prefix", prefix)
	if err != nil {
		t.Fatal(err)
	}
	m := o.must("create", "--name", "Acme Tea", "--dev")
	var out, errOut bytes.Buffer
	if err := userCmd(context.Background(), append([]string{"create", "--merchant", m["merchant_id"].(string),
		"--email", "ops@acme.example", "--public-url", base}, o.redis...), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var created struct {
		URL string `json:"set_password_url"`
	}
	_ = json.Unmarshal(out.Bytes(), &created)
	link, err := url.Parse(created.URL)
	if err != nil || status(t, created.URL) != 200 {
		t.Fatalf("link %q: %v", created.URL, err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	pw := "tea leaves and honey"
	if r := post("/dashboard/set-password", url.Values{"token": {link.Query().Get("token")}, "password": {pw}, "confirm": {pw}}); r.StatusCode != 303 {
		t.Fatalf("set password: %d", r.StatusCode)
	}
	r := post("/dashboard/login", url.Values{"email": {"ops@acme.example"}, "password": {pw}})
	if r.StatusCode != 303 || len(r.Cookies()) != 1 || r.Cookies()[0].Secure {
		t.Fatalf("sign in: %d %v", r.StatusCode, r.Header.Values("Set-Cookie"))
	}
	req, _ := http.NewRequest("GET", base+"/dashboard", nil)
	req.AddCookie(r.Cookies()[0])
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "Acme Tea") {
		t.Fatalf("landing: %d\n%s", res.StatusCode, body)
	}
}
