package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func newStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	p := redistest.Prefix()
	return store.New(redistest.Shared(t).Client(t), p), p
}

func TestAllowBurstThenRetryAfter(t *testing.T) {
	st, prefix := newStore(t)
	ctx := context.Background()
	l := store.Limit{Burst: 5, Every: time.Minute}
	for i := range 5 {
		ok, _, err := st.Allow(ctx, "ip:198.51.100.7", l)
		if err != nil || !ok {
			t.Fatalf("request %d refused (%v), want the burst of 5 allowed", i+1, err)
		}
	}
	ok, retry, err := st.Allow(ctx, "ip:198.51.100.7", l)
	if err != nil || ok {
		t.Fatalf("6th request: allowed=%v err=%v, want refused", ok, err)
	}
	if retry <= 50*time.Second || retry > time.Minute {
		t.Errorf("retry after %s, want about a minute", retry)
	}
	if s := store.RetryAfterSeconds(retry); s < 51 || s > 60 {
		t.Errorf("Retry-After %d", s)
	}
	// Another bucket is untouched; Check spends nothing.
	for range 10 {
		if ok, _, err := st.Check(ctx, "ip:198.51.100.8", l); err != nil || !ok {
			t.Fatalf("Check on a fresh bucket: %v %v", ok, err)
		}
	}
	if ok, _, _ := st.Check(ctx, "ip:198.51.100.7", l); ok {
		t.Error("Check on a spent bucket says allowed")
	}
	// The bucket lives under the store's prefix and expires once its budget would be full.
	rdb := redistest.Shared(t).Client(t)
	key := prefix + "rate:ip:198.51.100.7"
	ttl, err := rdb.PTTL(ctx, key).Result()
	if err != nil || ttl <= 4*time.Minute || ttl > 5*time.Minute+time.Second {
		t.Errorf("bucket %s TTL %s (%v), want about 5 min", key, ttl, err)
	}
	if n, _ := rdb.Exists(ctx, prefix+"rate:ip:198.51.100.8").Result(); n != 0 {
		t.Error("Check created a bucket")
	}
}

func TestFirstUse(t *testing.T) {
	st, prefix := newStore(t)
	ctx := context.Background()
	sig := strings.Repeat("ab", 32)
	first, err := st.FirstUse(ctx, "key_1", sig, 300*time.Second)
	if err != nil || !first {
		t.Fatalf("first use: %v %v", first, err)
	}
	again, err := st.FirstUse(ctx, "key_1", sig, 300*time.Second)
	if err != nil || again {
		t.Fatalf("replay: first=%v %v, want false", again, err)
	}
	if ok, _ := st.FirstUse(ctx, "key_2", sig, 300*time.Second); !ok {
		t.Error("the same signature under another key id counted as a replay")
	}
	ttl, _ := redistest.Shared(t).Client(t).TTL(ctx, prefix+"replay:{key_1}:"+sig).Result()
	if ttl <= 290*time.Second || ttl > 300*time.Second {
		t.Errorf("replay mark TTL %s, want the window", ttl)
	}
}

func TestParseLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want store.Limit
		ok   bool
	}{
		{"120/12s", store.Limit{Burst: 120, Every: 100 * time.Millisecond}, true},
		{"20/2m", store.Limit{Burst: 20, Every: 6 * time.Second}, true},
		{"100/1h", store.Limit{Burst: 100, Every: 36 * time.Second}, true},
		{"off", store.Limit{Burst: -1}, true},
		{"0/1s", store.Limit{}, false},
		{"-1/1s", store.Limit{}, false},
		{"10", store.Limit{}, false},
		{"10/x", store.Limit{}, false},
		{"10/0s", store.Limit{}, false},
		{"", store.Limit{}, false},
	} {
		got, err := store.ParseLimit(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseLimit(%q) = %v, %v", c.in, got, err)
		}
		if c.ok && c.in != "off" && got.String() != c.in && got.String() != "120/12s" {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}
