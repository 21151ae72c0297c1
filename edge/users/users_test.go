package users_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// fastParams keep the tests quick; TestPasswordHash checks the defaults.
var fastParams = users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	ctx   context.Context
	st    *store.Store
	svc   *users.Service
	clock *clock
	merch *checkout.Merchant
}

var ip = netip.MustParseAddr("192.0.2.7")

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := redistest.Shared(t)
	st := store.New(srv.Client(t), redistest.Prefix())
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f := &fixture{ctx: context.Background(), st: st, clock: c,
		svc: &users.Service{Store: st, Now: c.Now, Params: fastParams}}
	f.merch = f.merchant(t, "Acme Tea")
	return f
}

func (f *fixture) merchant(t *testing.T, name string) *checkout.Merchant {
	t.Helper()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{}, CreatedAt: f.clock.Now()}
	if err := f.st.CreateMerchant(f.ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk"}, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

// user creates a user of the fixture's merchant with password pw and returns it.
func (f *fixture) user(t *testing.T, email, pw string) *store.User {
	t.Helper()
	c, err := f.svc.CreateUser(f.ctx, users.CreateParams{Email: email, MerchantID: f.merch.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetPassword(f.ctx, c.Token, pw, ip); err != nil {
		t.Fatal(err)
	}
	return c.User
}

func TestPasswordHash(t *testing.T) {
	phc, err := users.HashPassword("correct horse battery", users.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("PHC string %q", phc)
	}
	if !users.VerifyPassword(phc, "correct horse battery") {
		t.Fatal("the right password does not verify")
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery "} {
		if users.VerifyPassword(phc, wrong) {
			t.Errorf("%q verifies", wrong)
		}
	}
	again, _ := users.HashPassword("correct horse battery", users.DefaultParams)
	if again == phc {
		t.Fatal("two hashes of one password are equal: no fresh salt")
	}
	// Malformed or out-of-bounds hashes never match (and never allocate gigabytes).
	parts := strings.Split(phc, "$")
	for name, bad := range map[string]string{
		"argon2i":       strings.Replace(phc, "argon2id", "argon2i", 1),
		"huge memory":   "$argon2id$v=19$m=4194304,t=3,p=2$" + parts[4] + "$" + parts[5],
		"many passes":   "$argon2id$v=19$m=65536,t=100,p=2$" + parts[4] + "$" + parts[5],
		"short key":     "$argon2id$v=19$m=65536,t=3,p=2$" + parts[4] + "$AAAA",
		"other version": "$argon2id$v=16$m=65536,t=3,p=2$" + parts[4] + "$" + parts[5],
		"empty":         "",
	} {
		if users.VerifyPassword(bad, "correct horse battery") {
			t.Errorf("%s: %q verifies", name, bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		name, pw string
		want     error
	}{
		{"12 characters", "abcdefghijkl", nil},
		{"11 characters", "abcdefghijk", users.ErrPasswordTooShort},
		{"12 runes, fewer chars than bytes", "密码密码密码密码密码密码", nil},
		{"the e-mail address", "Ops@Shop.Example", users.ErrPasswordIsEmail},
		{"too long", strings.Repeat("a", users.MaxPasswordLen+1), users.ErrPasswordTooLong},
		{"invalid UTF-8", "abcdefghijkl\xff", users.ErrPasswordTooShort},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := users.CheckPassword(c.pw, "ops@shop.example"); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestCreateUserChecks(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		name string
		p    users.CreateParams
	}{
		{"no merchant", users.CreateParams{Email: "a@shop.example"}},
		{"unknown merchant", users.CreateParams{Email: "a@shop.example", MerchantID: "mer_nope"}},
		{"operator with merchant", users.CreateParams{Email: "a@shop.example", MerchantID: f.merch.ID, Operator: true}},
		{"display name", users.CreateParams{Email: "A <a@shop.example>", MerchantID: f.merch.ID}},
		{"not an address", users.CreateParams{Email: "shop.example", MerchantID: f.merch.ID}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var inv *users.InvalidError
			if _, err := f.svc.CreateUser(f.ctx, c.p, users.OperatorActor); !errors.As(err, &inv) {
				t.Fatalf("got %v, want an InvalidError", err)
			}
		})
	}
	if _, err := f.svc.CreateUser(f.ctx, users.CreateParams{Email: "Ops@Shop.example", MerchantID: f.merch.ID}, users.OperatorActor); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUser(f.ctx, users.CreateParams{Email: "ops@shop.example", Operator: true}, users.OperatorActor); !errors.Is(err, users.ErrEmailTaken) {
		t.Fatalf("same address again: %v", err)
	}
	list, err := f.svc.List(f.ctx)
	if err != nil || len(list) != 1 || list[0].Email != "ops@shop.example" {
		t.Fatalf("users %+v %v", list, err)
	}
}

func TestSetPasswordLink(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.CreateUser(f.ctx, users.CreateParams{Email: "ops@shop.example", MerchantID: f.merch.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Token) != 43 || !c.Expires.Equal(f.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("token %q expires %s", c.Token, c.Expires)
	}
	if u, err := f.svc.LinkUser(f.ctx, c.Token); err != nil || u.ID != c.User.ID {
		t.Fatalf("link user %+v %v", u, err)
	}
	// A refused password leaves the link usable.
	var inv *users.InvalidError
	if _, err := f.svc.SetPassword(f.ctx, c.Token, "short", ip); !errors.As(err, &inv) {
		t.Fatalf("short password: %v", err)
	}
	if _, err := f.svc.SetPassword(f.ctx, c.Token, "ops@shop.example", ip); !errors.As(err, &inv) {
		t.Fatalf("password = e-mail: %v", err)
	}
	if _, err := f.svc.SetPassword(f.ctx, c.Token, "a long enough password", ip); err != nil {
		t.Fatal(err)
	}
	// Single use.
	if _, err := f.svc.SetPassword(f.ctx, c.Token, "another long password", ip); !errors.Is(err, users.ErrTokenInvalid) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := f.svc.LinkUser(f.ctx, c.Token); !errors.Is(err, users.ErrTokenInvalid) {
		t.Fatalf("used link still shows: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip); err != nil {
		t.Fatalf("sign in with the password set: %v", err)
	}
	// Expiry: a new link works until 24 h, not at 24 h.
	again, err := f.svc.IssueLinkByEmail(f.ctx, "ops@shop.example", users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(24*time.Hour - time.Second)
	if _, err := f.svc.LinkUser(f.ctx, again.Token); err != nil {
		t.Fatalf("link before expiry: %v", err)
	}
	f.clock.Add(time.Second)
	if _, err := f.svc.SetPassword(f.ctx, again.Token, "another long password", ip); !errors.Is(err, users.ErrTokenInvalid) {
		t.Fatalf("expired link: %v", err)
	}
	// Only the newest link works.
	older, err := f.svc.IssueLinkByEmail(f.ctx, "ops@shop.example", users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LinkUser(f.ctx, older.Token); err != nil {
		t.Fatal(err)
	}
	newest, err := f.svc.IssueLinkByEmail(f.ctx, "ops@shop.example", users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LinkUser(f.ctx, older.Token); !errors.Is(err, users.ErrTokenInvalid) {
		t.Fatalf("an older link after a newer one: %v", err)
	}
	if _, err := f.svc.LinkUser(f.ctx, newest.Token); err != nil {
		t.Fatalf("newest link: %v", err)
	}
	// The token is stored hashed: no key names it.
	if _, err := f.svc.LinkUser(f.ctx, store.HashSecret(again.Token)); !errors.Is(err, users.ErrTokenInvalid) {
		t.Fatalf("the token's hash works as a token: %v", err)
	}
}

// TestSetPasswordRace: two requests with one link at once; exactly one sets its password.
func TestSetPasswordRace(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.CreateUser(f.ctx, users.CreateParams{Email: "ops@shop.example", MerchantID: f.merch.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.SetPassword(f.ctx, c.Token, "password number "+string(rune('a'+i)), ip)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, users.ErrTokenInvalid):
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 8 racing requests set a password", ok)
	}
}

func TestLoginErrorsAreGeneric(t *testing.T) {
	f := newFixture(t)
	f.user(t, "ops@shop.example", "a long enough password")
	if _, err := f.svc.CreateUser(f.ctx, users.CreateParams{Email: "new@shop.example", MerchantID: f.merch.ID}, users.OperatorActor); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, email, pw string }{
		{"unknown address", "nobody@shop.example", "a long enough password"},
		{"wrong password", "ops@shop.example", "a long enough passworD"},
		{"no password set yet", "new@shop.example", ""},
		{"not an address", "<script>", "x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.svc.Login(f.ctx, c.email, c.pw, "", ip); err != users.ErrInvalidCredentials {
				t.Fatalf("got %v, want ErrInvalidCredentials", err)
			}
		})
	}
	s, err := f.svc.Login(f.ctx, "OPS@shop.example", "a long enough password", "", ip)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ID) != 43 || s.Session.Hash != store.HashSecret(s.ID) || len(s.Session.CSRF) != 43 {
		t.Fatalf("session %+v", s)
	}
	// Every attempt is audited, failures with the reason, on the merchant's log; the unknown
	// address on the operators'.
	log, err := f.svc.Audit(f.ctx, f.merch.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action+" "+e.Detail)
		if e.Action == users.ActionLogin && (e.IP != "192.0.2.7" || e.Actor != "ops@shop.example" || !e.At.Equal(f.clock.Now())) {
			t.Errorf("login entry %+v", e)
		}
	}
	got := strings.Join(actions, "|")
	for _, want := range []string{"login.succeeded ", "login.failed wrong password", "login.failed no password set",
		"password.set ", "user.created ops@shop.example for " + f.merch.ID} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q: %s", want, got)
		}
	}
	ops, _ := f.svc.Audit(f.ctx, "", 10)
	if len(ops) != 2 || ops[1].Actor != "nobody@shop.example" || ops[1].Detail != "unknown e-mail address" {
		t.Fatalf("operators' log %+v", ops)
	}
}

// TestUnknownUserCostsAHash: signing in as an unknown address verifies a hash of the same
// cost as a real one (timed loosely: the unknown address must not be an order of magnitude
// faster).
func TestUnknownUserCostsAHash(t *testing.T) {
	f := newFixture(t)
	f.svc.Params = users.Params{Time: 3, Memory: 32 * 1024, Threads: 1}
	f.svc.LoginLimitIP, f.svc.LoginLimitAccount = store.Limit{Burst: -1}, store.Limit{Burst: -1}
	f.user(t, "ops@shop.example", "a long enough password")
	timeIt := func(email string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			_, _ = f.svc.Login(f.ctx, email, "wrong password!", "", ip)
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := timeIt("ops@shop.example"), timeIt("nobody@shop.example")
	if unknown < known/3 {
		t.Fatalf("unknown address took %s, known %s: the dummy hash is not verified", unknown, known)
	}
}

func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	f.svc.LoginLimitAccount = store.Limit{Burst: 3, Every: time.Hour}
	f.svc.LoginLimitIP = store.Limit{Burst: 5, Every: time.Hour}
	f.user(t, "ops@shop.example", "a long enough password")
	for i := range 3 {
		if _, err := f.svc.Login(f.ctx, "ops@shop.example", "wrong password "+string(rune('a'+i)), "", ip); err != users.ErrInvalidCredentials {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// The account's budget is spent: even the right password is refused, before any check.
	var th *users.ThrottledError
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip); !errors.As(err, &th) || th.RetryAfter <= 0 {
		t.Fatalf("after 3 failures: %v", err)
	}
	// From another client too (it is the account's budget).
	other := netip.MustParseAddr("198.51.100.1")
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", other); !errors.As(err, &th) {
		t.Fatalf("another client: %v", err)
	}
	// The client's budget: 2 more failures on other addresses spend it; then an unknown
	// address is throttled exactly like a known one.
	for _, e := range []string{"a@shop.example", "b@shop.example"} {
		if _, err := f.svc.Login(f.ctx, e, "whatever password", "", ip); err != users.ErrInvalidCredentials {
			t.Fatalf("%s: %v", e, err)
		}
	}
	if _, err := f.svc.Login(f.ctx, "c@shop.example", "whatever password", "", ip); !errors.As(err, &th) {
		t.Fatalf("client budget spent: %v", err)
	}
	// An IPv6 client is counted by its /64.
	f.svc.LoginLimitIP = store.Limit{Burst: 1, Every: time.Hour}
	_, _ = f.svc.Login(f.ctx, "d@shop.example", "whatever password", "", netip.MustParseAddr("2001:db8:1:2::1"))
	if _, err := f.svc.Login(f.ctx, "e@shop.example", "whatever password", "", netip.MustParseAddr("2001:db8:1:2::ffff")); !errors.As(err, &th) {
		t.Fatalf("same /64: %v", err)
	}
}

func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t)
	f.user(t, "ops@shop.example", "a long enough password")
	login := func() string {
		t.Helper()
		s, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip)
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	t.Run("idle", func(t *testing.T) {
		id := login()
		for range 3 { // use every 29 minutes: stays
			f.clock.Add(29 * time.Minute)
			if _, err := f.svc.Authenticate(f.ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Add(30 * time.Minute)
		if _, err := f.svc.Authenticate(f.ctx, id); !errors.Is(err, users.ErrNoSession) {
			t.Fatalf("after 30 idle minutes: %v", err)
		}
		f.clock.Add(-30 * time.Minute) // and it is gone, not only refused
		if _, err := f.svc.Authenticate(f.ctx, id); !errors.Is(err, users.ErrNoSession) {
			t.Fatalf("ended session came back: %v", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		id := login()
		for used := time.Duration(0); used < 12*time.Hour-20*time.Minute; used += 20 * time.Minute {
			f.clock.Add(20 * time.Minute)
			if _, err := f.svc.Authenticate(f.ctx, id); err != nil {
				t.Fatalf("at %s: %v", used+20*time.Minute, err)
			}
		}
		f.clock.Add(20 * time.Minute) // 12 h after sign-in, though used 20 minutes ago
		if _, err := f.svc.Authenticate(f.ctx, id); !errors.Is(err, users.ErrNoSession) {
			t.Fatalf("after 12 h: %v", err)
		}
	})
	t.Run("unknown and malformed ids", func(t *testing.T) {
		for _, id := range []string{"", "nope", strings.Repeat("a", 500)} {
			if _, err := f.svc.Authenticate(f.ctx, id); !errors.Is(err, users.ErrNoSession) {
				t.Fatalf("%q: %v", id, err)
			}
		}
	})
}

func TestSignOutEverywhereAndDisable(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "ops@shop.example", "a long enough password")
	var ids []string
	for range 3 {
		s, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	cur, err := f.svc.Authenticate(f.ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(f.ctx, cur, ip); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, ids[0]); !errors.Is(err, users.ErrNoSession) {
		t.Fatalf("signed-out session: %v", err)
	}
	if _, err := f.svc.Authenticate(f.ctx, ids[1]); err != nil {
		t.Fatalf("signing out one session ended another: %v", err)
	}
	cur, _ = f.svc.Authenticate(f.ctx, ids[1])
	if err := f.svc.LogoutAll(f.ctx, cur, ip); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1:] {
		if _, err := f.svc.Authenticate(f.ctx, id); !errors.Is(err, users.ErrNoSession) {
			t.Fatalf("after sign out everywhere: %v", err)
		}
	}
	if n, _ := f.st.SessionCount(f.ctx, u.ID); n != 0 {
		t.Fatalf("%d sessions still indexed", n)
	}

	// Disabling ends the sessions at once and refuses sign-in with the generic error.
	s, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Disable(f.ctx, "ops@shop.example", users.OperatorActor, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s.ID); !errors.Is(err, users.ErrNoSession) {
		t.Fatalf("disabled user's session: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip); err != users.ErrInvalidCredentials {
		t.Fatalf("disabled user signs in: %v", err)
	}
	if _, err := f.svc.IssueLinkByEmail(f.ctx, "ops@shop.example", users.OperatorActor); err == nil {
		t.Fatal("a disabled user got a set-password link")
	}
	log, _ := f.svc.Audit(f.ctx, f.merch.ID, 3)
	if log[0].Action != users.ActionLoginFailed || log[1].Action != users.ActionUserDisabled || log[1].Actor != users.OperatorActor {
		t.Fatalf("audit %+v", log)
	}
}

// TestSessionEpoch: a session record that survives its revocation (a crash between the epoch
// bump and the deletes) is still refused.
func TestSessionEpoch(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "ops@shop.example", "a long enough password")
	s, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip)
	if err != nil {
		t.Fatal(err)
	}
	// Recreate the session's record after revoking: as if its delete had been lost.
	if _, err := f.st.RevokeSessions(f.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateSession(f.ctx, s.Session, f.clock.Now().Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, s.ID); !errors.Is(err, users.ErrNoSession) {
		t.Fatalf("session of an earlier epoch: %v", err)
	}
}

func TestTOTP(t *testing.T) {
	f := newFixture(t)
	f.user(t, "ops@shop.example", "a long enough password")
	s, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip)
	if err != nil {
		t.Fatal(err)
	}
	cur := &s.Current
	en, err := f.svc.BeginTOTP(f.ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URI, "otpauth://totp/MP%20Checkout:ops@shop.example?") || !strings.Contains(en.URI, "secret="+en.Secret) {
		t.Fatalf("enrollment %+v", en)
	}
	// The page shown again (same session) shows the same secret.
	cur, _ = f.svc.Authenticate(f.ctx, s.ID)
	if again, _ := f.svc.BeginTOTP(f.ctx, cur); again.Secret != en.Secret {
		t.Fatalf("second look: %s, first %s", again.Secret, en.Secret)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(en.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wrong := code(f.clock.Now().Add(5 * time.Minute))
	if err := f.svc.ConfirmTOTP(f.ctx, cur, wrong, ip); !errors.Is(err, users.ErrBadCode) {
		t.Fatalf("wrong code: %v", err)
	}
	confirmCode := code(f.clock.Now())
	if err := f.svc.ConfirmTOTP(f.ctx, cur, confirmCode, ip); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.BeginTOTP(f.ctx, cur); !errors.Is(err, users.ErrTOTPEnrolled) {
		t.Fatalf("enroll twice: %v", err)
	}

	const pw = "a long enough password"
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", pw, "", ip); !errors.Is(err, users.ErrCodeRequired) {
		t.Fatalf("no code: %v", err)
	}
	// The code that confirmed enrollment cannot sign in (its step is used).
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", pw, confirmCode, ip); err != users.ErrInvalidCredentials {
		t.Fatalf("the enrollment code replayed: %v", err)
	}
	// The next step's code signs in once; again it is refused, and so is the step before.
	f.clock.Add(30 * time.Second)
	next := code(f.clock.Now())
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", pw, next, ip); err != nil {
		t.Fatalf("fresh code: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", pw, next, ip); err != users.ErrInvalidCredentials {
		t.Fatalf("replayed code: %v", err)
	}
	// A code of the step after (clock drift) is accepted; one two steps off is not.
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", pw, code(f.clock.Now().Add(30*time.Second)), ip); err != nil {
		t.Fatalf("code one step ahead: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, "ops@shop.example", pw, code(f.clock.Now().Add(90*time.Second)), ip); err != users.ErrInvalidCredentials {
		t.Fatalf("code three steps ahead: %v", err)
	}
	log, _ := f.svc.Audit(f.ctx, f.merch.ID, 100)
	var enrolled, reused int
	for _, e := range log {
		if e.Action == users.ActionTOTPEnrolled {
			enrolled++
		}
		if e.Detail == "code already used" {
			reused++
		}
	}
	if enrolled != 1 || reused != 2 {
		t.Fatalf("audit: %d enrolled, %d replays", enrolled, reused)
	}
}

// TestTOTPRace: concurrent sign-ins with one code; exactly one gets a session.
func TestTOTPRace(t *testing.T) {
	f := newFixture(t)
	f.svc.LoginLimitAccount = store.Limit{Burst: -1}
	f.user(t, "ops@shop.example", "a long enough password")
	s, _ := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", "", ip)
	en, err := f.svc.BeginTOTP(f.ctx, &s.Current)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := totp.GenerateCode(en.Secret, f.clock.Now())
	if err := f.svc.ConfirmTOTP(f.ctx, &s.Current, c, ip); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(30 * time.Second)
	c, _ = totp.GenerateCode(en.Secret, f.clock.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Login(f.ctx, "ops@shop.example", "a long enough password", c, ip); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d of 6 sign-ins with one code succeeded", ok)
	}
}

// BenchmarkHashPassword is the cost of one new password hash (and so of one sign-in's
// verification) at DefaultParams on this machine.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := users.HashPassword("correct horse battery", users.DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}
