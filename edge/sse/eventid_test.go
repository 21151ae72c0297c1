package sse

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mpchat/checkout/internal/redistest"
)

// TestParseEventIDAgreesWithRedis holds the Last-Event-ID validator to what Redis itself
// accepts: every id it accepts is one XRANGE takes, in the exclusive form the store sends
// ("(" + id), and every id Redis refuses is refused. A few ids Redis takes only through
// strtoull's leniency (a sign, blanks) are refused on purpose: no stream ever sent them.
func TestParseEventIDAgreesWithRedis(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	ctx := context.Background()
	key := redistest.Prefix() + "ids"
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"f", "v"}}).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(ctx, key) })
	cases := []struct {
		name, id string
		want     string // canonical form; "" = refused
		lenient  bool   // Redis accepts it, we refuse it
	}{
		{"ms-seq", "1700000000000-0", "1700000000000-0", false},
		{"zero", "0-0", "0-0", false},
		{"ms only", "5", "5-0", false},
		{"leading zeros", "007-01", "7-1", false},
		{"max ms", "18446744073709551615-0", "18446744073709551615-0", false},
		{"max seq", "1-18446744073709551615", "1-18446744073709551615", false},
		{"max ms only", "18446744073709551615", "18446744073709551615-0", false},
		// The very last id: XRANGE cannot start after it ("invalid start ID for the interval").
		{"max id", "18446744073709551615-18446744073709551615", "", false},
		{"seq too big", "1-99999999999999999999", "", false},
		{"ms too big", "18446744073709551616-0", "", false},
		{"ms 2^64 alone", "18446744073709551616", "", false},
		{"negative", "-1", "", false},
		{"negative seq", "1--1", "", false},
		{"empty seq", "1-", "", false},
		{"empty ms", "-5", "", false},
		{"dash", "-", "", false},
		{"plus", "+", "", false},
		{"three parts", "1-2-3", "", false},
		{"letters", "abc", "", false},
		{"hex", "0x10-0", "", false},
		{"star seq", "1-*", "", false},
		{"dot", "1.5-0", "", false},
		{"huge", strings.Repeat("9", 200), "", false},
		{"huge zeros", strings.Repeat("0", 200) + "1-0", "", false},
		{"plus sign", "+5-0", "", true},
		{"leading blank", " 5-0", "", true},
		{"wrapping minus ms", "-18446744073709551615-0", "", false},
		{"wrapping minus seq", "1--18446744073709551615", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ParseEventID(c.id)
			if ok != (c.want != "") || (ok && got != c.want) {
				t.Errorf("ParseEventID(%q) = %q, %v; want %q", c.id, got, ok, c.want)
			}
			// Redis on the id as the client sent it and, exclusive, as the store sends it.
			plain := rdb.XRange(ctx, key, c.id, "+").Err()
			excl := rdb.XRange(ctx, key, "("+c.id, "+").Err()
			redisOK := plain == nil && excl == nil
			switch {
			case c.lenient && !redisOK:
				t.Errorf("Redis refuses %q (%v, %v); the case is not lenient", c.id, plain, excl)
			case !c.lenient && redisOK != (c.want != ""):
				t.Errorf("Redis on %q: XRANGE %v, exclusive %v; the validator says %v", c.id, plain, excl, ok)
			}
			if ok {
				if err := rdb.XRange(ctx, key, "("+got, "+").Err(); err != nil {
					t.Errorf("Redis refuses the canonical form %q: %v", got, err)
				}
			}
		})
	}
}
