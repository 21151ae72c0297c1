// Package store is the edge's Redis: merchants, API keys, orders and their event streams,
// idempotency records, deposit-address counters, the expiry schedule and the change feed.
// It is the only edge package that imports go-redis, and keys.go names every key it touches.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// Errors returned by the store. Callers translate them to API errors once, at the boundary.
var (
	ErrNotFound = checkout.ErrNotFound
	// ErrConflict: a concurrent writer changed the record first (compare-and-set lost).
	ErrConflict = errors.New("conflict: record changed concurrently")
	// ErrAddressInUse: a deposit address is already bound to another order. It means two
	// merchants share an xpub or the counter went back; the order is refused rather than share.
	ErrAddressInUse = errors.New("deposit address already bound to another order")
	// ErrXPubInUse: another merchant registered this xpub (its addresses would collide).
	ErrXPubInUse = errors.New("xpub already registered to another merchant")
)

// Store reads and writes the edge's records in Redis. Safe for concurrent use.
type Store struct {
	rdb   redis.UniversalClient
	k     keys
	spare *spareIndexes // shared by WithSharedPrefix's copies
}

// New returns a Store over rdb with every key prefixed by prefix (e.g. "mp:"; tests use their
// own prefix so they never touch another's data). Its xpub registry and dev-account counter
// are under prefix too until WithSharedPrefix names the namespace deployments share.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, k: keys{prefix: prefix, shared: prefix}, spare: &spareIndexes{}}
}

// DefaultSharedPrefix is the namespace every deployment on one Redis agrees on for the keys
// that must be unique across prefixes (the edge's --redis-shared-prefix).
const DefaultSharedPrefix = "mp-shared:"

// WithSharedPrefix returns a copy of s whose xpub claims and dev-account numbers live under
// shared, so deployments on one Redis under different prefixes never hand out the same
// deposit addresses. Every deployment on that Redis must use the same shared prefix (and a
// Redis ACL user needs access to its keys as well as to its own prefix).
func (s *Store) WithSharedPrefix(shared string) *Store {
	c := *s
	c.k.shared = shared
	return &c
}

// Client returns the underlying Redis client, for components (rate limiter) that need one.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Prefix is the key prefix of this store.
func (s *Store) Prefix() string { return s.k.prefix }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// getJSON loads the JSON document in field "doc" of hash key into v.
func (s *Store) getJSON(ctx context.Context, key string, v any) error {
	b, err := s.rdb.HGet(ctx, key, "doc").Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis hget %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}
