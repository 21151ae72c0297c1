// Package users is the merchant dashboard's accounts: users (a merchant's, or operators who
// see every merchant), their passwords (argon2id), one-time set-password links, an optional
// TOTP second factor, sessions with idle and absolute timeouts, sign-in throttling, and the
// audit log every change is written to. It holds the rules; edge/store holds the records and
// edge/dashboard the pages.
package users

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// Defaults of Service.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultLinkTTL         = 24 * time.Hour
	// DefaultMaxHashes is how many password hashes one process computes at once: each takes
	// DefaultParams.Memory (64 MiB), so a flood of sign-ins queues instead of exhausting memory.
	DefaultMaxHashes = 4
	DefaultIssuer    = "MP Checkout"
)

// Default sign-in limits: failed attempts per client (an IP, or an IPv6 /64) and per e-mail
// address, written as store.ParseLimit reads them.
var (
	DefaultLoginLimitIP      = store.Limit{Burst: 20, Every: 30 * time.Second} // 20/10m
	DefaultLoginLimitAccount = store.Limit{Burst: 10, Every: time.Minute}      // 10/10m
)

// Errors returned by Service. The dashboard shows each as a message; none of them tells
// whether an e-mail address has an account.
var (
	// ErrInvalidCredentials: wrong e-mail address, password or code, a disabled user, or one
	// with no password yet. Deliberately one error.
	ErrInvalidCredentials = errors.New("the e-mail address, password or authentication code is not right")
	// ErrCodeRequired: the password was right and the user has a second factor; sign in again
	// with a code.
	ErrCodeRequired = errors.New("enter the code from your authenticator app")
	// ErrNoSession: no session, or it ended (timed out, signed out, revoked, user disabled).
	ErrNoSession = errors.New("not signed in")
	// ErrTokenInvalid: a set-password link that is unknown, used or expired.
	ErrTokenInvalid = errors.New("this link is not valid: it was used or has expired; ask your operator for a new one")
	// ErrBadCode: a TOTP code that does not match the secret being enrolled.
	ErrBadCode = errors.New("the code does not match; check the time on your device and try again")
	// ErrTOTPEnrolled: the user already has a second factor.
	ErrTOTPEnrolled = errors.New("two-factor authentication is already on")
	ErrNotFound     = errors.New("no such user")
	ErrEmailTaken   = store.ErrEmailTaken
)

// ThrottledError says sign-in is refused for a while (too many failures from this client or
// for this e-mail address), before any password is checked.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many sign-in attempts; try again in %d seconds", store.RetryAfterSeconds(e.RetryAfter))
}

// InvalidError is a refused parameter of an operator command or a form.
type InvalidError struct{ Param, Message string }

func (e *InvalidError) Error() string { return e.Param + ": " + e.Message }

// Audit actions.
const (
	ActionUserCreated  = "user.created"
	ActionUserDisabled = "user.disabled"
	ActionLinkIssued   = "password.link_issued"
	ActionPasswordSet  = "password.set"
	ActionLogin        = "login.succeeded"
	ActionLoginFailed  = "login.failed"
	ActionLogout       = "logout"
	ActionRevokeAll    = "sessions.revoked"
	ActionTOTPEnrolled = "totp.enrolled"
)

// OperatorActor is the audit actor of the operator's commands.
const OperatorActor = "operator (command line)"

// Service is the accounts' rules over the store. The zero values of its settings are the
// defaults above. Safe for concurrent use.
type Service struct {
	Store *store.Store
	// Now is the clock (sessions, links, TOTP); nil = time.Now.
	Now func() time.Time
	// Params are the costs of new password hashes; zero = DefaultParams.
	Params Params
	// IdleTimeout ends a session unused for this long; AbsoluteTimeout ends any session this
	// long after sign-in.
	IdleTimeout, AbsoluteTimeout time.Duration
	// LinkTTL is how long a set-password link works.
	LinkTTL time.Duration
	// LoginLimitIP and LoginLimitAccount limit failed sign-ins per client and per e-mail
	// address (a Burst < 0 = no limit).
	LoginLimitIP, LoginLimitAccount store.Limit
	// MaxHashes bounds concurrent password hashes in this process.
	MaxHashes int
	// Issuer names the service in authenticator apps.
	Issuer string
	Log    *slog.Logger

	once  sync.Once
	slots chan struct{}
	dummy string // a hash of a random password, verified for unknown users
}

func (s *Service) init() {
	s.once.Do(func() {
		if s.Params == (Params{}) {
			s.Params = DefaultParams
		}
		if s.MaxHashes <= 0 {
			s.MaxHashes = DefaultMaxHashes
		}
		s.slots = make(chan struct{}, s.MaxHashes)
		s.dummy, _ = HashPassword(randomToken(), s.Params)
	})
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) idle() time.Duration { return or(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Service) abs() time.Duration  { return or(s.AbsoluteTimeout, DefaultAbsoluteTimeout) }

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// hash and verify run argon2id within the process's slots.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	s.init()
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.slots }()
	return HashPassword(password, s.Params)
}

func (s *Service) verify(ctx context.Context, phc, password string) (bool, error) {
	s.init()
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.slots }()
	return VerifyPassword(phc, password), nil
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password hash: %w", ctx.Err())
	}
}

// randomToken is 32 bytes from crypto/rand, base64url without padding (43 characters).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NormalizeEmail lowercases and trims an e-mail address and checks it is one bare address
// (no display name, at most 254 bytes).
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || len(e) > 254 {
		return "", &InvalidError{Param: "email", Message: "must be one e-mail address, such as ops@shop.example"}
	}
	return e, nil
}

// CreateParams are a new user's identity: an e-mail address and either a merchant or Operator.
type CreateParams struct {
	Email      string
	MerchantID string
	Operator   bool
}

// Created is a new user and the one-time link to set its password.
type Created struct {
	User  *store.User `json:"user"`
	Token string      `json:"-"`
	// Expires is when the link stops working.
	Expires time.Time `json:"link_expires_at"`
}

// CreateUser adds a user and issues its set-password link (the token is returned once and
// stored only hashed). actor names who did it in the audit log.
func (s *Service) CreateUser(ctx context.Context, p CreateParams, actor string) (*Created, error) {
	email, err := NormalizeEmail(p.Email)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Operator && p.MerchantID != "":
		return nil, &InvalidError{Param: "merchant", Message: "an operator sees every merchant: give --operator or --merchant, not both"}
	case !p.Operator && p.MerchantID == "":
		return nil, &InvalidError{Param: "merchant", Message: "required (or --operator for an operator)"}
	case !p.Operator:
		if _, err := s.Store.Merchant(ctx, p.MerchantID); errors.Is(err, store.ErrNotFound) {
			return nil, &InvalidError{Param: "merchant", Message: "no merchant " + p.MerchantID}
		} else if err != nil {
			return nil, err
		}
	}
	u := &store.User{ID: ids.New("usr"), Email: email, MerchantID: p.MerchantID, Operator: p.Operator, CreatedAt: s.now()}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, u, store.AuditEntry{Actor: actor, Action: ActionUserCreated, Detail: describe(u)}); err != nil {
		return nil, err
	}
	token, exp, err := s.IssueLink(ctx, u, actor)
	if err != nil {
		return nil, err
	}
	return &Created{User: u, Token: token, Expires: exp}, nil
}

func describe(u *store.User) string {
	if u.Operator {
		return "operator " + u.Email
	}
	return u.Email + " for " + u.MerchantID
}

// IssueLink makes a new set-password token for u, good once until the returned time.
func (s *Service) IssueLink(ctx context.Context, u *store.User, actor string) (string, time.Time, error) {
	token := randomToken()
	ttl := or(s.LinkTTL, DefaultLinkTTL)
	exp := s.now().Add(ttl)
	if err := s.Store.CreatePasswordToken(ctx, store.HashSecret(token), u.ID, exp, ttl); err != nil {
		return "", time.Time{}, err
	}
	return token, exp, s.audit(ctx, u, store.AuditEntry{Actor: actor, Action: ActionLinkIssued, Detail: "expires " + exp.Format(time.RFC3339)})
}

// IssueLinkByEmail is IssueLink for the user with this e-mail address.
func (s *Service) IssueLinkByEmail(ctx context.Context, email, actor string) (*Created, error) {
	u, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if u.DisabledAt != nil {
		return nil, &InvalidError{Param: "email", Message: "the user is disabled"}
	}
	token, exp, err := s.IssueLink(ctx, u, actor)
	if err != nil {
		return nil, err
	}
	return &Created{User: u, Token: token, Expires: exp}, nil
}

func (s *Service) byEmail(ctx context.Context, email string) (*store.User, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.UserByEmail(ctx, e)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return u, err
}

// List returns every user (no secrets: the record's hash and TOTP secret are not encoded).
func (s *Service) List(ctx context.Context) ([]*store.User, error) { return s.Store.Users(ctx) }

// Disable stops the user signing in and ends its sessions at once.
func (s *Service) Disable(ctx context.Context, email, actor string, ip netip.Addr) (*store.User, error) {
	u, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if err := s.Store.DisableUser(ctx, u.ID, s.now()); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, u, store.AuditEntry{Actor: actor, Action: ActionUserDisabled, IP: ipString(ip), Detail: describe(u)}); err != nil {
		return nil, err
	}
	return s.Store.User(ctx, u.ID)
}

// LinkUser returns the user a set-password token is for, without using it; ErrTokenInvalid
// if it is unknown, used or expired, or the user is disabled.
func (s *Service) LinkUser(ctx context.Context, token string) (*store.User, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrTokenInvalid
	}
	h := store.HashSecret(token)
	id, exp, err := s.Store.PasswordToken(ctx, h)
	return s.linkUser(ctx, h, id, exp, err)
}

func (s *Service) linkUser(ctx context.Context, tokenHash, id string, exp time.Time, err error) (*store.User, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(exp) {
		return nil, ErrTokenInvalid
	}
	u, err := s.Store.User(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	// Only the newest link works, and none once a password was set with it.
	if u.DisabledAt != nil || subtle.ConstantTimeCompare([]byte(u.LinkHash), []byte(tokenHash)) != 1 {
		return nil, ErrTokenInvalid
	}
	return u, nil
}

// SetPassword sets the password of the link's user and uses the link up. A password the rules
// refuse (CheckPassword: *InvalidError) leaves the link usable; a link used meanwhile by
// another request is ErrTokenInvalid. Every session of the user ends.
func (s *Service) SetPassword(ctx context.Context, token, password string, ip netip.Addr) (*store.User, error) {
	u, err := s.LinkUser(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(password, u.Email); err != nil {
		return nil, &InvalidError{Param: "password", Message: err.Error()}
	}
	phc, err := s.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	h := store.HashSecret(token)
	id, exp, err := s.Store.UsePasswordToken(ctx, h)
	if _, err := s.linkUser(ctx, h, id, exp, err); err != nil {
		return nil, err
	}
	if id != u.ID {
		return nil, ErrTokenInvalid
	}
	if err := s.Store.SetPassword(ctx, u.ID, phc, s.now()); err != nil {
		return nil, err
	}
	return u, s.audit(ctx, u, store.AuditEntry{Actor: u.Email, Action: ActionPasswordSet, IP: ipString(ip)})
}

// Audit returns the newest count entries of a merchant's audit log ("" = the operators').
func (s *Service) Audit(ctx context.Context, merchantID string, count int64) ([]store.AuditEntry, error) {
	return s.Store.Audit(ctx, merchantID, count)
}

// audit appends e to the log of u's merchant (the operators' log for an operator, or for
// nil: a sign-in as an unknown address).
func (s *Service) audit(ctx context.Context, u *store.User, e store.AuditEntry) error {
	merchant := ""
	if u != nil {
		merchant, e.UserID = u.MerchantID, u.ID
	}
	e.At = s.now()
	return s.Store.AppendAudit(ctx, merchant, e)
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
