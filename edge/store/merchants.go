package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// claimXPub records that merchantID owns the xpub with this fingerprint; a second merchant
// registering the same xpub would derive the same addresses, so it is refused.
func (s *Store) claimXPub(ctx context.Context, fingerprint, merchantID string) error {
	key := s.k.xpubOwner(fingerprint)
	ok, err := s.rdb.SetNX(ctx, key, merchantID, 0).Result()
	if err != nil {
		return fmt.Errorf("claim xpub: %w", err)
	}
	if ok {
		return nil
	}
	owner, err := s.rdb.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("claim xpub: %w", err)
	}
	if owner != merchantID {
		return ErrXPubInUse
	}
	return nil
}

// CreateMerchant stores a new merchant with its first API key. fingerprints maps each of the
// merchant's xpubs to its fingerprint, claimed so no other merchant can register it.
func (s *Store) CreateMerchant(ctx context.Context, m *checkout.Merchant, key *checkout.APIKey, fingerprints []string) error {
	for _, fp := range fingerprints {
		if err := s.claimXPub(ctx, fp, m.ID); err != nil {
			return err
		}
	}
	if err := s.PutMerchant(ctx, m); err != nil {
		return err
	}
	return s.AddKey(ctx, key)
}

// PutMerchant writes the merchant record (create or replace) and indexes it.
func (s *Store) PutMerchant(ctx context.Context, m *checkout.Merchant) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode merchant: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.k.merchant(m.ID), "doc", b).Err(); err != nil {
		return fmt.Errorf("put merchant: %w", err)
	}
	if err := s.rdb.SAdd(ctx, s.k.merchants(), m.ID).Err(); err != nil {
		return fmt.Errorf("index merchant: %w", err)
	}
	return nil
}

// SetXPub claims the xpub for the merchant and stores it for the network.
func (s *Store) SetXPub(ctx context.Context, m *checkout.Merchant, n checkout.Network, xpub, fingerprint string) error {
	if err := s.claimXPub(ctx, fingerprint, m.ID); err != nil {
		return err
	}
	if m.XPubs == nil {
		m.XPubs = map[checkout.Network]string{}
	}
	m.XPubs[n] = xpub
	return s.PutMerchant(ctx, m)
}

// Merchant loads a merchant by id.
func (s *Store) Merchant(ctx context.Context, id string) (*checkout.Merchant, error) {
	var m checkout.Merchant
	if err := s.getJSON(ctx, s.k.merchant(id), &m); err != nil {
		return nil, fmt.Errorf("merchant %s: %w", id, err)
	}
	return &m, nil
}

// Merchants lists every merchant, oldest first.
func (s *Store) Merchants(ctx context.Context) ([]*checkout.Merchant, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.merchants()).Result()
	if err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	out := make([]*checkout.Merchant, 0, len(ids))
	for _, id := range ids {
		m, err := s.Merchant(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AddKey stores an API key and links it to its merchant.
func (s *Store) AddKey(ctx context.Context, key *checkout.APIKey) error {
	b, err := json.Marshal(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.k.apiKey(key.ID), "doc", b).Err(); err != nil {
		return fmt.Errorf("put key: %w", err)
	}
	if err := s.rdb.SAdd(ctx, s.k.merchantKeys(key.MerchantID), key.ID).Err(); err != nil {
		return fmt.Errorf("link key: %w", err)
	}
	return nil
}

// APIKey loads an API key by id.
func (s *Store) APIKey(ctx context.Context, id string) (*checkout.APIKey, error) {
	var k checkout.APIKey
	if err := s.getJSON(ctx, s.k.apiKey(id), &k); err != nil {
		return nil, fmt.Errorf("api key: %w", err)
	}
	return &k, nil
}

// Keys lists a merchant's API keys (secrets included: callers must not print them).
func (s *Store) Keys(ctx context.Context, merchantID string) ([]*checkout.APIKey, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.merchantKeys(merchantID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	sort.Strings(ids)
	out := make([]*checkout.APIKey, 0, len(ids))
	for _, id := range ids {
		k, err := s.APIKey(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// PutKey replaces an API key record (used to mark it revoked).
func (s *Store) PutKey(ctx context.Context, key *checkout.APIKey) error { return s.AddKey(ctx, key) }

// NextDevAccount allocates the next BIP44 account number for a development merchant, so two
// dev merchants never share deposit addresses. Accounts start at 1 (0 pays on the dev chain).
func (s *Store) NextDevAccount(ctx context.Context) (uint32, error) {
	n, err := s.rdb.Incr(ctx, s.k.devAccounts()).Result()
	if err != nil {
		return 0, fmt.Errorf("allocate dev account: %w", err)
	}
	return uint32(n), nil
}

// Block adds a sender address (network format) to the operator's blocklist: funds from it
// freeze the order for review.
func (s *Store) Block(ctx context.Context, n checkout.Network, addr string) error {
	return wrap("block address", s.rdb.SAdd(ctx, s.k.blocklist(n), addr).Err())
}

// Unblock removes an address from the blocklist.
func (s *Store) Unblock(ctx context.Context, n checkout.Network, addr string) error {
	return wrap("unblock address", s.rdb.SRem(ctx, s.k.blocklist(n), addr).Err())
}

// Blocked lists the network's blocklist.
func (s *Store) Blocked(ctx context.Context, n checkout.Network) ([]string, error) {
	v, err := s.rdb.SMembers(ctx, s.k.blocklist(n)).Result()
	sort.Strings(v)
	return v, wrap("list blocklist", err)
}

// IsBlocked reports whether addr is on the network's blocklist.
func (s *Store) IsBlocked(ctx context.Context, n checkout.Network, addr string) (bool, error) {
	ok, err := s.rdb.SIsMember(ctx, s.k.blocklist(n), addr).Result()
	return ok, wrap("check blocklist", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}
