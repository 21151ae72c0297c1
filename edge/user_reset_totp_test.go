package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestUserResetTOTP: `edge user reset-totp` clears a user's second factor and ends its
// sessions everywhere; the user then signs in with its password alone; the reset is in the
// merchant's audit log, done by the operator; an unknown or missing address is refused.
func TestUserResetTOTP(t *testing.T) {
	o := newOperator(t)
	m := o.must("create", "--name", "Acme Tea", "--dev")
	mid := m["merchant_id"].(string)
	ctx := context.Background()
	user := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := userCmd(ctx, append(args, o.redis...), &out, &errOut)
		return out.String(), err
	}
	out, err := user("create", "--merchant", mid, "--email", "ops@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		URL string `json:"set_password_url"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	link, _ := url.Parse(created.URL)

	st := store.New(redistest.Shared(t).Client(t), o.redis[3])
	svc := &users.Service{Store: st, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	const pw = "tea leaves and honey"
	u, err := svc.SetPassword(ctx, link.Query().Get("token"), pw, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	// Enrolled, with two signed-in sessions (two devices), each needing a code.
	secret := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	if err := st.SetTOTP(ctx, u.ID, secret, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "ops@acme.example", pw, "", netip.Addr{}); !errors.Is(err, users.ErrCodeRequired) {
		t.Fatalf("sign-in without a code while enrolled: %v", err)
	}
	var sessions []string
	for i := range 2 {
		code, _ := totp.GenerateCode(secret, time.Now().Add(time.Duration(i-1)*30*time.Second))
		s, err := svc.Login(ctx, "ops@acme.example", pw, code, netip.Addr{})
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		sessions = append(sessions, s.ID)
	}

	out, err = user("reset-totp", "--email", "OPS@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"email": "ops@acme.example"`) || strings.Contains(out, secret) {
		t.Fatalf("reset-totp printed %s", out)
	}
	for _, id := range sessions {
		if _, err := svc.Authenticate(ctx, id); !errors.Is(err, users.ErrNoSession) {
			t.Fatalf("a session outlived the reset: %v", err)
		}
	}
	if got, err := st.User(ctx, u.ID); err != nil || got.TOTPEnrolled() {
		t.Fatalf("still enrolled after the reset: %v", err)
	}
	if _, err := svc.Login(ctx, "ops@acme.example", pw, "", netip.Addr{}); err != nil {
		t.Fatalf("sign-in with the password after the reset: %v", err)
	}
	log, err := st.Audit(ctx, mid, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range log {
		if e.Action == users.ActionTOTPReset {
			found = true
			if e.Actor != users.OperatorActor || e.UserID != u.ID || e.Detail != "second factor cleared, 2 sessions ended" {
				t.Fatalf("audit entry %+v", e)
			}
		}
	}
	if !found {
		t.Fatalf("no %s in the audit log %+v", users.ActionTOTPReset, log)
	}

	for _, bad := range [][]string{{"reset-totp", "--email", "nobody@acme.example"}, {"reset-totp"}, {"reset-totp", "--email", "not an address"}} {
		if _, err := user(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if out, _ := user("help"); !strings.Contains(out, "reset-totp --email E") {
		t.Fatalf("usage lacks reset-totp:\n%s", out)
	}
}
