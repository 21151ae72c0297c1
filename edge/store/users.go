package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors of the dashboard's records.
var (
	// ErrEmailTaken: another user already has this e-mail address.
	ErrEmailTaken = errors.New("a user with this e-mail address exists")
)

// User is a dashboard user's record. The identity (ID, Email, MerchantID, Operator,
// CreatedAt) never changes; the rest lives in fields of its own, so concurrent changes (a
// password set while an operator disables the user) never overwrite each other.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	// MerchantID is the merchant the user acts for; empty for an operator.
	MerchantID string    `json:"merchant_id,omitempty"`
	Operator   bool      `json:"operator,omitempty"`
	CreatedAt  time.Time `json:"created_at"`

	// PasswordHash is the argon2id PHC string; empty until the user sets a password.
	PasswordHash  string     `json:"-"`
	PasswordSetAt *time.Time `json:"password_set_at,omitempty"`
	// TOTPSecret is the base32 TOTP secret once enrolled (Redis holds it as it holds API
	// secrets: verifying a code needs it). TOTPStep is the last time step a code was accepted
	// for, so no code is accepted twice.
	TOTPSecret string     `json:"-"`
	TOTPStep   int64      `json:"-"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// LinkHash is the hash of the user's newest set-password token: only that one works.
	LinkHash string `json:"-"`
	// Epoch is the user's session generation: a session made under an older epoch is over
	// (sign out everywhere, password change, disable).
	Epoch int64 `json:"-"`
}

// TOTPEnrolled reports whether the user has a second factor.
func (u *User) TOTPEnrolled() bool { return u.TOTPSecret != "" }

// hashHex is the hex SHA-256 of s: how e-mail addresses, session ids and tokens appear in keys.
func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// CreateUser stores a new user and claims its e-mail address (lowercase, as the caller gives
// it). ErrEmailTaken if another user has it; nothing is then kept. The record is written
// before the address is claimed, and the user is listed last, so a crash in between leaves
// at most an unreachable record, never an address that points nowhere.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	doc, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encode user: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.k.user(u.ID), "doc", doc, "epoch", 0).Err(); err != nil {
		return wrap("create user", err)
	}
	ok, err := s.rdb.SetNX(ctx, s.k.userEmail(hashHex(u.Email)), u.ID, 0).Result()
	if err != nil || !ok {
		_ = s.rdb.Del(context.WithoutCancel(ctx), s.k.user(u.ID)).Err()
		if err != nil {
			return wrap("claim user e-mail", err)
		}
		return ErrEmailTaken
	}
	return wrap("list user", s.rdb.SAdd(ctx, s.k.users(), u.ID).Err())
}

// User loads a user by id; ErrNotFound if there is none.
func (s *Store) User(ctx context.Context, id string) (*User, error) {
	vals, err := s.rdb.HGetAll(ctx, s.k.user(id)).Result()
	if err != nil {
		return nil, wrap("load user", err)
	}
	return decodeUser(id, vals)
}

func decodeUser(id string, vals map[string]string) (*User, error) {
	doc, ok := vals["doc"]
	if !ok {
		return nil, ErrNotFound
	}
	u := &User{}
	if err := json.Unmarshal([]byte(doc), u); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	u.PasswordHash, u.TOTPSecret, u.LinkHash = vals["pw"], vals["totp"], vals["pwtoken"]
	u.TOTPStep, _ = strconv.ParseInt(vals["totp_step"], 10, 64)
	u.Epoch, _ = strconv.ParseInt(vals["epoch"], 10, 64)
	if ms, err := strconv.ParseInt(vals["pw_at"], 10, 64); err == nil {
		t := time.UnixMilli(ms).UTC()
		u.PasswordSetAt = &t
	}
	if ms, err := strconv.ParseInt(vals["disabled"], 10, 64); err == nil {
		t := time.UnixMilli(ms).UTC()
		u.DisabledAt = &t
	}
	return u, nil
}

// UserByEmail loads the user with this (lowercase) e-mail address; ErrNotFound if none.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	id, err := s.rdb.Get(ctx, s.k.userEmail(hashHex(email))).Result()
	if err != nil {
		return nil, wrap("find user", err)
	}
	return s.User(ctx, id)
}

// Users lists every user, by e-mail address.
func (s *Store) Users(ctx context.Context) ([]*User, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.users()).Result()
	if err != nil {
		return nil, wrap("list users", err)
	}
	out := make([]*User, 0, len(ids))
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out, nil
}

// SetPassword stores a user's new password hash and ends every session the user has (the
// epoch moves on first, so even a session whose key survives a crash is over).
func (s *Store) SetPassword(ctx context.Context, userID, phc string, at time.Time) error {
	pipe := s.rdb.TxPipeline() // one slot: the user's
	pipe.HSet(ctx, s.k.user(userID), "pw", phc, "pw_at", at.UnixMilli())
	pipe.HDel(ctx, s.k.user(userID), "pwtoken")
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("set password", err)
	}
	_, err := s.RevokeSessions(ctx, userID)
	return err
}

// SetTOTP stores the user's TOTP secret and the step of the code that confirmed it (so that
// code cannot sign in too).
func (s *Store) SetTOTP(ctx context.Context, userID, secret string, step int64) error {
	return wrap("set totp", s.rdb.HSet(ctx, s.k.user(userID), "totp", secret, "totp_step", step).Err())
}

// UseTOTPStep records that a code of time step step was accepted for the user, and reports
// false (recording nothing) when a code of that step or a later one was accepted before: a
// code is good once, even when two sign-ins race with it.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	n, err := totpStepScript.Run(ctx, s.rdb, []string{s.k.user(userID)}, step).Int()
	if err != nil {
		return false, wrap("use totp step", err)
	}
	return n == 1, nil
}

// DisableUser marks the user disabled at at and ends its sessions. Disabling a disabled user
// keeps the first time.
func (s *Store) DisableUser(ctx context.Context, userID string, at time.Time) error {
	if _, err := s.rdb.HSetNX(ctx, s.k.user(userID), "disabled", at.UnixMilli()).Result(); err != nil {
		return wrap("disable user", err)
	}
	_, err := s.RevokeSessions(ctx, userID)
	return err
}

// CreatePasswordToken stores a set-password token (its hash) for the user until expires,
// and makes it the user's only valid one (the user record names it; earlier tokens are
// refused by the caller's check and go with their TTL).
func (s *Store) CreatePasswordToken(ctx context.Context, tokenHash, userID string, expires time.Time, ttl time.Duration) error {
	v := userID + "|" + strconv.FormatInt(expires.UnixMilli(), 10)
	if err := s.rdb.HSet(ctx, s.k.user(userID), "pwtoken", tokenHash).Err(); err != nil {
		return wrap("create password token", err)
	}
	return wrap("create password token", s.rdb.Set(ctx, s.k.passwordToken(tokenHash), v, ttl).Err())
}

// PasswordToken returns the user and end of a set-password token without using it up;
// ErrNotFound if there is none (never issued, used, or gone with its TTL).
func (s *Store) PasswordToken(ctx context.Context, tokenHash string) (userID string, expires time.Time, err error) {
	v, err := s.rdb.Get(ctx, s.k.passwordToken(tokenHash)).Result()
	if err != nil {
		return "", time.Time{}, wrap("password token", err)
	}
	return parseToken(v)
}

// UsePasswordToken deletes a set-password token and returns what it held: only one caller
// ever gets it (GETDEL). ErrNotFound when it was used or never existed.
func (s *Store) UsePasswordToken(ctx context.Context, tokenHash string) (userID string, expires time.Time, err error) {
	v, err := s.rdb.GetDel(ctx, s.k.passwordToken(tokenHash)).Result()
	if err != nil {
		return "", time.Time{}, wrap("use password token", err)
	}
	return parseToken(v)
}

func parseToken(v string) (string, time.Time, error) {
	id, exp, ok := strings.Cut(v, "|")
	ms, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil {
		return "", time.Time{}, fmt.Errorf("password token: malformed record")
	}
	return id, time.UnixMilli(ms).UTC(), nil
}

// HashSecret is the hex SHA-256 under which the store keeps a session id or token (for
// callers that must name one, e.g. the current session in a list).
func HashSecret(secret string) string { return hashHex(secret) }
