// Package ids makes the public identifiers: a type prefix and a ULID (time-ordered, 128 bits,
// 80 of them random), e.g. "ord_01JD…". Ordering by id is ordering by creation time.
package ids

import "github.com/oklog/ulid/v2"

// New returns prefix + "_" + a fresh ULID (crypto-random, monotonic within a millisecond).
func New(prefix string) string { return prefix + "_" + ulid.Make().String() }

// Order, Event, Merchant and Key return new ids of each kind.
func Order() string    { return New("ord") }
func Event() string    { return New("evt") }
func Merchant() string { return New("mer") }
func Key() string      { return New("key") }
