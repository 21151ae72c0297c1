package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxSessionsPerUser bounds a user's open sessions: past it, signing in ends the oldest.
const MaxSessionsPerUser = 50

// Session is a dashboard session's record. Its id is never stored: the key is the id's
// SHA-256, so reading Redis gives no one a session.
type Session struct {
	// Hash is the hex SHA-256 of the session id (the cookie's value); not a stored field.
	Hash   string
	UserID string
	// Epoch is the user's session generation when the session began (User.Epoch).
	Epoch   int64
	Created time.Time
	Seen    time.Time
	// CSRF is the session's synchronizer token, sent with every state-changing form.
	CSRF string
	// TOTPPending is a TOTP secret shown on the enroll page and not yet confirmed.
	TOTPPending string
}

// CreateSession stores a new session for ttl and indexes it under its user until ends (its
// absolute end). The index is written first, so sign-out-everywhere finds every session that
// exists; ended sessions are dropped from the index here, and past MaxSessionsPerUser the
// oldest are ended.
func (s *Store) CreateSession(ctx context.Context, sess *Session, ends time.Time, ttl time.Duration) error {
	idx := s.k.userSessions(sess.UserID)
	pipe := s.rdb.TxPipeline()
	pipe.ZRemRangeByScore(ctx, idx, "-inf", "("+strconv.FormatInt(sess.Created.UnixMilli(), 10))
	pipe.ZAdd(ctx, idx, redis.Z{Score: float64(ends.UnixMilli()), Member: sess.Hash})
	over := pipe.ZRange(ctx, idx, 0, -MaxSessionsPerUser-1) // all but the newest-ending MaxSessionsPerUser
	pipe.ZRemRangeByRank(ctx, idx, 0, -MaxSessionsPerUser-1)
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("index session", err)
	}
	for _, h := range over.Val() {
		if err := s.rdb.Del(ctx, s.k.session(h)).Err(); err != nil {
			return wrap("end oldest session", err)
		}
	}
	// One MULTI in the session's slot: the record never exists without its TTL.
	tx := s.rdb.TxPipeline()
	tx.HSet(ctx, s.k.session(sess.Hash), "user", sess.UserID, "epoch", sess.Epoch,
		"created", sess.Created.UnixMilli(), "seen", sess.Seen.UnixMilli(), "csrf", sess.CSRF)
	tx.PExpire(ctx, s.k.session(sess.Hash), ttl)
	_, err := tx.Exec(ctx)
	return wrap("create session", err)
}

// Session loads the session whose id hashes to hash; ErrNotFound if none.
func (s *Store) Session(ctx context.Context, hash string) (*Session, error) {
	v, err := s.rdb.HGetAll(ctx, s.k.session(hash)).Result()
	if err != nil {
		return nil, wrap("load session", err)
	}
	if v["user"] == "" {
		return nil, ErrNotFound
	}
	sess := &Session{Hash: hash, UserID: v["user"], CSRF: v["csrf"], TOTPPending: v["totp_pending"]}
	sess.Epoch, _ = strconv.ParseInt(v["epoch"], 10, 64)
	created, _ := strconv.ParseInt(v["created"], 10, 64)
	seen, _ := strconv.ParseInt(v["seen"], 10, 64)
	sess.Created, sess.Seen = time.UnixMilli(created).UTC(), time.UnixMilli(seen).UTC()
	return sess, nil
}

// TouchSession records activity at seen and keeps the session for ttl more. It returns
// ErrNotFound if the session ended meanwhile.
func (s *Store) TouchSession(ctx context.Context, hash string, seen time.Time, ttl time.Duration) error {
	return s.setSession(ctx, hash, ttl, "seen", seen.UnixMilli())
}

// SetSessionTOTP keeps a TOTP secret being enrolled on the session ("" clears it).
func (s *Store) SetSessionTOTP(ctx context.Context, hash, secret string, ttl time.Duration) error {
	return s.setSession(ctx, hash, ttl, "totp_pending", secret)
}

func (s *Store) setSession(ctx context.Context, hash string, ttl time.Duration, kv ...any) error {
	args := append([]any{max(ttl.Milliseconds(), 1)}, kv...)
	n, err := sessionSetScript.Run(ctx, s.rdb, []string{s.k.session(hash)}, args...).Int()
	if err != nil {
		return wrap("update session", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteSession ends one session of the user.
func (s *Store) DeleteSession(ctx context.Context, hash, userID string) error {
	if err := s.rdb.Del(ctx, s.k.session(hash)).Err(); err != nil {
		return wrap("delete session", err)
	}
	return wrap("unindex session", s.rdb.ZRem(ctx, s.k.userSessions(userID), hash).Err())
}

// RevokeSessions ends every session of the user: the user's epoch moves on first (one write,
// after which no earlier session is accepted, even one whose key a crash left behind), then
// each indexed session is deleted. It returns how many were deleted.
func (s *Store) RevokeSessions(ctx context.Context, userID string) (int, error) {
	if err := s.rdb.HIncrBy(ctx, s.k.user(userID), "epoch", 1).Err(); err != nil {
		return 0, wrap("revoke sessions", err)
	}
	idx := s.k.userSessions(userID)
	hashes, err := s.rdb.ZRange(ctx, idx, 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, wrap("list sessions", err)
	}
	n := 0
	for _, h := range hashes {
		d, err := s.rdb.Del(ctx, s.k.session(h)).Result()
		if err != nil {
			return n, wrap("delete session", err)
		}
		n += int(d)
		if err := s.rdb.ZRem(ctx, idx, h).Err(); err != nil {
			return n, wrap("unindex session", err)
		}
	}
	return n, nil
}

// SessionCount is the number of sessions indexed under the user (ended ones included until
// the next sign-in drops them).
func (s *Store) SessionCount(ctx context.Context, userID string) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.k.userSessions(userID)).Result()
	return n, wrap("count sessions", err)
}
