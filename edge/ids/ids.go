// Package ids makes the public identifiers: a type prefix and a ULID (48 bits of Unix
// milliseconds, then 80 bits drawn from crypto/rand), e.g. "ord_01JD…". Ordering by id is
// ordering by creation time, strictly increasing within one process.
//
// An order id is the only credential of the customer's checkout (page, view, stream), and
// request ids are on every response, so no id may tell anything about another: every id
// carries at least 64 fresh crypto-random bits (oklog/ulid's default entropy, math/rand
// seeded at start with steps below 2^32, let anyone who read a few hundred Request-Id
// headers compute other merchants' order ids).
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// entropy is where every id's random bits come from.
var entropy io.Reader = rand.Reader

// gen keeps the last id made in this process, so ids of one millisecond still increase.
var gen struct {
	sync.Mutex
	ms     uint64
	hi     uint16 // the 80 random bits: hi (top 16) and lo (low 64)
	lo     uint64
	random [18]byte
}

// next returns a new ULID: in a new millisecond 80 fresh random bits; in the same millisecond
// (or when the clock stepped back) the previous id's bits plus 2^32 plus a 64-bit random
// increment, so it sorts after it yet cannot be guessed from it. When that overflows the 80
// bits, the id moves to the next millisecond with fresh bits.
func next() ulid.ULID {
	now := ulid.Timestamp(time.Now())
	gen.Lock()
	defer gen.Unlock()
	if _, err := io.ReadFull(entropy, gen.random[:]); err != nil {
		panic("ids: crypto/rand failed: " + err.Error()) // crypto/rand does not fail (Go 1.24+)
	}
	r := gen.random[:]
	if now > gen.ms {
		gen.ms = now
		gen.hi, gen.lo = binary.BigEndian.Uint16(r[:2]), binary.BigEndian.Uint64(r[2:10])
	} else {
		inc := binary.BigEndian.Uint64(r[10:])
		lo := gen.lo + inc
		carry := uint16(0)
		if lo < gen.lo {
			carry = 1
		}
		lo2 := lo + 1<<32
		if lo2 < lo {
			carry++
		}
		hi := gen.hi + carry
		if hi < gen.hi { // the 80 bits overflowed: next millisecond, fresh bits
			gen.ms++
			gen.hi, gen.lo = binary.BigEndian.Uint16(r[:2]), binary.BigEndian.Uint64(r[2:10])
		} else {
			gen.hi, gen.lo = hi, lo2
		}
	}
	var u ulid.ULID
	if err := u.SetTime(gen.ms); err != nil {
		panic("ids: clock beyond the ULID range: " + err.Error()) // year 10889
	}
	binary.BigEndian.PutUint16(u[6:8], gen.hi)
	binary.BigEndian.PutUint64(u[8:], gen.lo)
	return u
}

// New returns prefix + "_" + a fresh ULID. Safe for concurrent use.
func New(prefix string) string { return prefix + "_" + next().String() }

// Order, Event, Merchant and Key return new ids of each kind.
func Order() string    { return New("ord") }
func Event() string    { return New("evt") }
func Merchant() string { return New("mer") }
func Key() string      { return New("key") }
