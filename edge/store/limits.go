package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limit is a rate limit: Burst requests at once, then one more every Every (a generic cell
// rate: a client that waits long enough gets its whole burst back). The zero Limit allows
// nothing; callers treat a Limit with Burst < 1 as "no limit" before calling.
type Limit struct {
	Burst int
	Every time.Duration
}

// PerSecond is a Limit of n requests per second with a burst of n.
func PerSecond(n int) Limit { return Limit{Burst: n, Every: time.Second / time.Duration(n)} }

// Allow spends one request of bucket's budget under l. When the budget is spent it returns
// false and how long until one more request would pass. Errors are Redis failures.
func (s *Store) Allow(ctx context.Context, bucket string, l Limit) (bool, time.Duration, error) {
	return s.gcra(ctx, bucket, l, 1)
}

// Check reports, like Allow, whether one request would pass, spending nothing: for budgets
// charged only after the fact (a failed authentication, a lookup of an unknown order).
func (s *Store) Check(ctx context.Context, bucket string, l Limit) (bool, time.Duration, error) {
	return s.gcra(ctx, bucket, l, 0)
}

func (s *Store) gcra(ctx context.Context, bucket string, l Limit, cost int) (bool, time.Duration, error) {
	if l.Burst < 1 || l.Every <= 0 {
		return false, 0, fmt.Errorf("rate limit %s: burst %d every %s is not a limit", bucket, l.Burst, l.Every)
	}
	every := float64(l.Every) / float64(time.Millisecond)
	res, err := gcraScript.Run(ctx, s.rdb, []string{s.k.rate(bucket)}, l.Burst, every, cost).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", bucket, err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("rate limit %s: unexpected answer %v", bucket, res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}

// RetryAfterSeconds is d rounded up to whole seconds, at least 1: the Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// FirstUse records that the signed request (keyID, sig) has been used, for ttl (until its
// timestamp leaves the signature window), and reports whether this was its first use. A
// request replayed within the window gets false. Bounded: one key per accepted signed
// state-changing request, each gone after ttl (at most twice the signature window).
func (s *Store) FirstUse(ctx context.Context, keyID, sig string, ttl time.Duration) (bool, error) {
	if ttl < time.Second {
		ttl = time.Second
	}
	ok, err := s.rdb.SetNX(ctx, s.k.replay(keyID, sig), 1, ttl).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("replay check: %w", err)
	}
	return ok, nil
}

// ParseLimit reads a limit written "N/D": at most N requests at once, refilled at N per
// duration D (e.g. "120/12s" is a burst of 120, then 10 a second). "off" is Limit{Burst: -1},
// which callers read as no limit.
func ParseLimit(s string) (Limit, error) {
	if s == "off" {
		return Limit{Burst: -1}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	burst, err := strconv.Atoi(n)
	if !ok || err != nil || burst < 1 {
		return Limit{}, fmt.Errorf("limit %q: want N/DURATION (e.g. 120/12s) or off", s)
	}
	per, err := time.ParseDuration(d)
	if err != nil || per <= 0 || per/time.Duration(burst) <= 0 {
		return Limit{}, fmt.Errorf("limit %q: want N/DURATION (e.g. 120/12s) or off", s)
	}
	return Limit{Burst: burst, Every: per / time.Duration(burst)}, nil
}

// String writes l as ParseLimit reads it.
func (l Limit) String() string {
	if l.Burst < 1 {
		return "off"
	}
	d := (l.Every * time.Duration(l.Burst)).String() // "2m0s" reads better as "2m"
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return strconv.Itoa(l.Burst) + "/" + d
}
