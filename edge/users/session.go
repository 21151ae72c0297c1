package users

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/mpchat/checkout/edge/clientip"
	"github.com/mpchat/checkout/edge/store"
)

// Current is a signed-in request: its session and user.
type Current struct {
	Session *store.Session
	User    *store.User
}

// Started is a new session: ID is the cookie's value (given to the browser once, stored
// only hashed).
type Started struct {
	ID string
	Current
}

// Login signs in with an e-mail address, password and (once enrolled) TOTP code.
//
// Failures from this client and for this address are limited (LoginLimitIP,
// LoginLimitAccount); once either budget is spent, Login refuses with *ThrottledError before
// looking anything up. Every other failure is ErrInvalidCredentials, and an unknown address
// costs the same argon2id work as a known one (a dummy hash is verified), so neither the
// answer nor its timing tells whether the address has an account. ErrCodeRequired comes
// only after the right password. Each attempt is written to the audit log.
func (s *Service) Login(ctx context.Context, email, password, code string, ip netip.Addr) (*Started, error) {
	s.init()
	addr, err := NormalizeEmail(email)
	if err != nil || len(password) > MaxPasswordLen {
		addr = "" // no account has it; still throttled per client, still costs a hash
	}
	buckets := s.loginBuckets(addr, ip)
	for _, b := range buckets {
		ok, wait, err := s.Store.Check(ctx, b.name, b.limit)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &ThrottledError{RetryAfter: wait}
		}
	}
	var u *store.User
	if addr != "" {
		u, err = s.Store.UserByEmail(ctx, addr)
		if errors.Is(err, store.ErrNotFound) {
			u = nil
		} else if err != nil {
			return nil, err
		}
	}
	phc := s.dummy
	if u != nil && u.PasswordHash != "" {
		phc = u.PasswordHash
	}
	ok, err := s.verify(ctx, phc, password)
	if err != nil {
		return nil, err
	}
	fail := func(reason string) (*Started, error) {
		for _, b := range buckets {
			if _, _, err := s.Store.Allow(ctx, b.name, b.limit); err != nil {
				return nil, err
			}
		}
		actor := addr
		if actor == "" {
			actor = "(not an e-mail address)"
		}
		if err := s.audit(ctx, u, store.AuditEntry{Actor: actor, Action: ActionLoginFailed, IP: ipString(ip), Detail: reason}); err != nil {
			return nil, err
		}
		if reason == "code missing" {
			return nil, ErrCodeRequired
		}
		return nil, ErrInvalidCredentials
	}
	switch {
	case u == nil:
		return fail("unknown e-mail address")
	case u.PasswordHash == "":
		return fail("no password set")
	case !ok:
		return fail("wrong password")
	case u.DisabledAt != nil:
		return fail("user disabled")
	}
	if u.TOTPEnrolled() {
		if code == "" {
			return fail("code missing")
		}
		step, ok := matchCode(u.TOTPSecret, code, s.now())
		if !ok {
			return fail("wrong code")
		}
		fresh, err := s.Store.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			return nil, err
		}
		if !fresh {
			return fail("code already used")
		}
	}
	now := s.now()
	sess := &store.Session{UserID: u.ID, Epoch: u.Epoch, Created: now, Seen: now, CSRF: randomToken()}
	id := randomToken()
	sess.Hash = store.HashSecret(id)
	if err := s.Store.CreateSession(ctx, sess, now.Add(s.abs()), min(s.idle(), s.abs())); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, u, store.AuditEntry{Actor: u.Email, Action: ActionLogin, IP: ipString(ip)}); err != nil {
		return nil, err
	}
	return &Started{ID: id, Current: Current{Session: sess, User: u}}, nil
}

type bucket struct {
	name  string
	limit store.Limit
}

// loginBuckets are the rate buckets a sign-in is counted in: login-ip:{client} and
// login-acct:{hash of the address} (the address itself never appears in a key).
func (s *Service) loginBuckets(addr string, ip netip.Addr) []bucket {
	ipLimit, acctLimit := s.LoginLimitIP, s.LoginLimitAccount
	if ipLimit == (store.Limit{}) {
		ipLimit = DefaultLoginLimitIP
	}
	if acctLimit == (store.Limit{}) {
		acctLimit = DefaultLoginLimitAccount
	}
	var out []bucket
	if ipLimit.Burst > 0 {
		client := "unknown"
		if ip.IsValid() {
			client = clientip.Bucket(ip)
		}
		out = append(out, bucket{"login-ip:{" + client + "}", ipLimit})
	}
	if acctLimit.Burst > 0 && addr != "" {
		out = append(out, bucket{"login-acct:{" + store.HashSecret(addr)[:32] + "}", acctLimit})
	}
	return out
}

// Authenticate returns the signed-in user of a session id (the cookie's value), and records
// the activity. ErrNoSession when there is none or it is over: unused for IdleTimeout, older
// than AbsoluteTimeout, of an earlier epoch (signed out everywhere, password changed), or of
// a disabled user; an ended session is deleted.
func (s *Service) Authenticate(ctx context.Context, id string) (*Current, error) {
	if id == "" || len(id) > 128 {
		return nil, ErrNoSession
	}
	sess, err := s.Store.Session(ctx, store.HashSecret(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	end := func() (*Current, error) {
		if err := s.Store.DeleteSession(ctx, sess.Hash, sess.UserID); err != nil {
			return nil, err
		}
		return nil, ErrNoSession
	}
	left := sess.Created.Add(s.abs()).Sub(now)
	if now.Sub(sess.Seen) >= s.idle() || left <= 0 {
		return end()
	}
	u, err := s.Store.User(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return end()
	}
	if err != nil {
		return nil, err
	}
	if u.DisabledAt != nil || u.Epoch != sess.Epoch {
		return end()
	}
	if err := s.Store.TouchSession(ctx, sess.Hash, now, min(s.idle(), left)); errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	} else if err != nil {
		return nil, err
	}
	sess.Seen = now
	return &Current{Session: sess, User: u}, nil
}

// Logout ends this session.
func (s *Service) Logout(ctx context.Context, c *Current, ip netip.Addr) error {
	if err := s.Store.DeleteSession(ctx, c.Session.Hash, c.User.ID); err != nil {
		return err
	}
	return s.audit(ctx, c.User, store.AuditEntry{Actor: c.User.Email, Action: ActionLogout, IP: ipString(ip)})
}

// LogoutAll ends every session of the user, this one included.
func (s *Service) LogoutAll(ctx context.Context, c *Current, ip netip.Addr) error {
	n, err := s.Store.RevokeSessions(ctx, c.User.ID)
	if err != nil {
		return err
	}
	return s.audit(ctx, c.User, store.AuditEntry{Actor: c.User.Email, Action: ActionRevokeAll, IP: ipString(ip),
		Detail: strconv.Itoa(n) + " sessions ended"})
}

// SessionEnds is when c's session ends if used no more: the earlier of its idle and absolute
// ends.
func (s *Service) SessionEnds(c *Current) time.Time {
	idle, abs := c.Session.Seen.Add(s.idle()), c.Session.Created.Add(s.abs())
	if idle.Before(abs) {
		return idle
	}
	return abs
}
