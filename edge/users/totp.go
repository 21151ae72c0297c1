package users

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/netip"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/mpchat/checkout/edge/store"
)

// TOTP codes are RFC 6238's defaults, which every authenticator app reads: SHA-1, 6 digits,
// 30-second steps; a code of the step before or after the server's is accepted too (clock
// drift), each step at most once per user.
const (
	totpPeriod = 30
	totpSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// matchCode finds the time step within the skew whose code is code, comparing each in
// constant time; every candidate is computed whatever matches.
func matchCode(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	var step int64
	found := false
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !found {
			step, found = t.Unix()/totpPeriod, true
		}
	}
	return step, found
}

// Enrollment is a TOTP secret being set up: shown once, as a URI for a QR code and as text.
type Enrollment struct {
	Secret string
	URI    string // otpauth://totp/…
}

// BeginTOTP returns the TOTP secret the user is enrolling on this session, making one the
// first time (kept on the session until confirmed, so reloading the page shows the same).
// ErrTOTPEnrolled if the user has one already.
func (s *Service) BeginTOTP(ctx context.Context, c *Current) (*Enrollment, error) {
	if c.User.TOTPEnrolled() {
		return nil, ErrTOTPEnrolled
	}
	issuer := s.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	if k, err := otp.NewKeyFromURL(c.Session.TOTPPending); err == nil && c.Session.TOTPPending != "" {
		return &Enrollment{Secret: k.Secret(), URI: k.URL()}, nil
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: c.User.Email, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, err
	}
	// The session keeps the whole key URI: the secret and how the app was told to use it.
	if err := s.Store.SetSessionTOTP(ctx, c.Session.Hash, k.URL(), s.sessionLeft(c)); err != nil {
		return nil, err
	}
	c.Session.TOTPPending = k.URL()
	return &Enrollment{Secret: k.Secret(), URI: k.URL()}, nil
}

// ConfirmTOTP turns the second factor on with the secret BeginTOTP gave, once code matches
// it. The code's step counts as used: it cannot sign in too.
func (s *Service) ConfirmTOTP(ctx context.Context, c *Current, code string, ip netip.Addr) error {
	if c.User.TOTPEnrolled() {
		return ErrTOTPEnrolled
	}
	k, err := otp.NewKeyFromURL(c.Session.TOTPPending)
	if c.Session.TOTPPending == "" || err != nil {
		return ErrBadCode
	}
	secret := k.Secret()
	step, ok := matchCode(secret, code, s.now())
	if !ok {
		return ErrBadCode
	}
	if err := s.Store.SetTOTP(ctx, c.User.ID, secret, step); err != nil {
		return err
	}
	if err := s.Store.SetSessionTOTP(ctx, c.Session.Hash, "", s.sessionLeft(c)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c.User.TOTPSecret, c.Session.TOTPPending = secret, ""
	return s.audit(ctx, c.User, store.AuditEntry{Actor: c.User.Email, Action: ActionTOTPEnrolled, IP: ipString(ip)})
}

func (s *Service) sessionLeft(c *Current) time.Duration {
	return max(time.Second, s.SessionEnds(c).Sub(s.now()))
}
