package ids

import (
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"github.com/oklog/ulid/v2"
)

// closeSuccessors counts neighbours (in draw order) that share a millisecond and whose
// random parts differ by less than 2^32: what a monotonic generator with small increments
// (oklog/ulid's default entropy: math/rand seeded at start, steps below 2^32) produces, so
// one id seen by anyone gives away the next. Ids here step by at least 2^32 + a 64-bit
// crypto-random increment, or start afresh.
func closeSuccessors(t *testing.T, list []ulid.ULID) int {
	t.Helper()
	n := 0
	for i := 1; i < len(list); i++ {
		a, b := list[i-1], list[i]
		if a.Time() != b.Time() {
			continue
		}
		ea, eb := a.Entropy(), b.Entropy()
		// Compare the top 48 bits: equal top 48 bits means the random parts are within 2^32.
		if string(ea[:6]) == string(eb[:6]) {
			n++
		}
	}
	return n
}

func TestIDsAreNotFromASeededStream(t *testing.T) {
	if entropy != rand.Reader {
		t.Fatalf("ids draw from %T, want crypto/rand.Reader", entropy)
	}
	// The detector catches the generator ids came from before: oklog/ulid's default.
	var old []ulid.ULID
	for range 5000 {
		old = append(old, ulid.Make())
	}
	if closeSuccessors(t, old) == 0 {
		t.Fatal("detector does not flag ulid.Make's seeded monotonic stream")
	}
	var got []ulid.ULID
	for range 5000 {
		id := Order()
		u, err := ulid.ParseStrict(strings.TrimPrefix(id, "ord_"))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		got = append(got, u)
	}
	if n := closeSuccessors(t, got); n > 0 {
		t.Errorf("%d ids follow the previous one within 2^32 in the same millisecond: predictable", n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Compare(got[i-1]) <= 0 {
			t.Fatalf("id %d (%s) does not sort after %s", i, got[i], got[i-1])
		}
	}
}

func TestIDsConcurrentUnique(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string
			prev := ""
			for range 2000 {
				id := Event()
				if id <= prev {
					t.Errorf("%s after %s in one goroutine: not increasing", id, prev)
				}
				prev = id
				mine = append(mine, id)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range mine {
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
			}
		}()
	}
	wg.Wait()
}

func TestIDsOverflowMovesToNextMillisecond(t *testing.T) {
	a := next()
	gen.Lock()
	gen.ms += 1000 // the clock "stepped back" a second: ids must still increase
	gen.hi, gen.lo = 0xFFFF, ^uint64(0)-5
	ms := gen.ms
	gen.Unlock()
	b := next()
	if b.Time() != ms+1 {
		t.Errorf("after an overflow the id's time is %d, want %d", b.Time(), ms+1)
	}
	if b.Compare(a) <= 0 {
		t.Errorf("%s does not sort after %s", b, a)
	}
}
