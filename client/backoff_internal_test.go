package client

import (
	"testing"
	"time"
)

// The default backoff doubles from 1 s (1 s, 2 s, 4 s) with ±10 % jitter, capped at 30 s.
func TestDefaultBackoff(t *testing.T) {
	c := New("http://x", "k", "s")
	for retry, base := range []time.Duration{1, 2, 4, 8, 16, 30, 30, 30} {
		base *= time.Second
		for i := 0; i < 50; i++ {
			d := c.backoff(retry)
			if d < base-base/10 || d >= base+base/10 {
				t.Fatalf("retry %d: %v, want %v ±10 %%", retry, d, base)
			}
		}
	}
}
