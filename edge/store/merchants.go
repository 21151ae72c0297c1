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

// owner is how the shared xpub registry names a merchant: its id and its deployment's prefix.
func (s *Store) owner(merchantID string) string { return merchantID + "@" + s.k.prefix }

// ClaimXPub records that merchantID owns the xpub with this fingerprint, across every
// deployment sharing this Redis (the shared registry, see WithSharedPrefix) and in this
// prefix's own record (which earlier versions wrote and read). A second merchant registering
// the same xpub would derive the same addresses, so it gets ErrXPubInUse. Claiming an xpub
// the merchant already owns succeeds. Each claim is one atomic SET NX; nothing else expires
// them: a claim lasts until ReleaseXPub.
func (s *Store) ClaimXPub(ctx context.Context, fingerprint, merchantID string) error {
	if err := s.setOwner(ctx, s.k.sharedXPubOwner(fingerprint), s.owner(merchantID)); err != nil {
		return err
	}
	if err := s.setOwner(ctx, s.k.xpubOwner(fingerprint), merchantID); err != nil {
		if errors.Is(err, ErrXPubInUse) { // held here from before the shared registry
			_ = s.releaseOwner(context.WithoutCancel(ctx), s.k.sharedXPubOwner(fingerprint), s.owner(merchantID))
		}
		return err
	}
	return nil
}

func (s *Store) setOwner(ctx context.Context, key, owner string) error {
	ok, err := s.rdb.SetNX(ctx, key, owner, 0).Result()
	if err != nil {
		return fmt.Errorf("claim xpub: %w", err)
	}
	if ok {
		return nil
	}
	got, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) { // released meanwhile: try once more
		return s.setOwnerOnce(ctx, key, owner)
	}
	if err != nil {
		return fmt.Errorf("claim xpub: %w", err)
	}
	if got != owner {
		return ErrXPubInUse
	}
	return nil
}

func (s *Store) setOwnerOnce(ctx context.Context, key, owner string) error {
	ok, err := s.rdb.SetNX(ctx, key, owner, 0).Result()
	if err != nil {
		return fmt.Errorf("claim xpub: %w", err)
	}
	if !ok {
		return ErrXPubInUse
	}
	return nil
}

func (s *Store) releaseOwner(ctx context.Context, key, owner string) error {
	if err := releaseIfOwner.Run(ctx, s.rdb, []string{key}, owner).Err(); err != nil {
		return fmt.Errorf("release xpub: %w", err)
	}
	return nil
}

// ReleaseXPub gives up merchantID's claim on the xpub (in the shared registry and this
// prefix's record); a claim held by another merchant is left alone.
func (s *Store) ReleaseXPub(ctx context.Context, fingerprint, merchantID string) error {
	if err := s.releaseOwner(ctx, s.k.sharedXPubOwner(fingerprint), s.owner(merchantID)); err != nil {
		return err
	}
	return s.releaseOwner(ctx, s.k.xpubOwner(fingerprint), merchantID)
}

// CreateMerchant stores a new merchant with its first API key. fingerprints maps each of the
// merchant's xpubs to its fingerprint, claimed so no other merchant, in this deployment or
// another on the same Redis, can register it. If one is taken (ErrXPubInUse), nothing is
// stored and the claims made for the merchant are released.
func (s *Store) CreateMerchant(ctx context.Context, m *checkout.Merchant, key *checkout.APIKey, fingerprints []string) (err error) {
	defer func() {
		if err != nil {
			rctx := context.WithoutCancel(ctx)
			for _, fp := range fingerprints {
				_ = s.ReleaseXPub(rctx, fp, m.ID) // the merchant is new: whatever it holds, this call claimed
			}
		}
	}()
	for _, fp := range fingerprints {
		if err := s.ClaimXPub(ctx, fp, m.ID); err != nil {
			return err
		}
	}
	if err := s.PutMerchant(ctx, m); err != nil {
		return err
	}
	return s.AddKey(ctx, key)
}

// RegisterXPubs claims, in the shared registry, the xpubs of this deployment's merchants
// (fingerprint computes an xpub's fingerprint), so that claims made before the registry
// existed bind every deployment on the Redis. It returns the merchants whose xpub another
// deployment's merchant had claimed first: they share deposit addresses and need an operator.
// Safe to run at every start.
func (s *Store) RegisterXPubs(ctx context.Context, fingerprint func(xpub string) (string, error)) (conflicts []string, err error) {
	ms, err := s.Merchants(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		for _, n := range checkout.Networks {
			if m.XPubs[n] == "" {
				continue
			}
			fp, err := fingerprint(m.XPubs[n])
			if err != nil {
				return conflicts, fmt.Errorf("merchant %s %s xpub: %w", m.ID, n, err)
			}
			err = s.setOwner(ctx, s.k.sharedXPubOwner(fp), s.owner(m.ID))
			if errors.Is(err, ErrXPubInUse) {
				conflicts = append(conflicts, m.ID)
				continue
			}
			if err != nil {
				return conflicts, err
			}
		}
	}
	return conflicts, nil
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

// maxMerchantRetries bounds UpdateMerchant's rereads: each one means another writer's change
// landed in between, so running out takes a storm of writes to one merchant.
const maxMerchantRetries = 16

// UpdateMerchant applies change to the stored merchant id and stores the result, unless the
// record changed in between: then it reads it again and reapplies change, so a concurrent
// change (another operator, the command line) is kept, never overwritten by a stale copy.
// change may run more than once and must depend only on the merchant it is given; an error
// from it stores nothing and is returned as is. It returns the merchant as stored.
func (s *Store) UpdateMerchant(ctx context.Context, id string, change func(m *checkout.Merchant) error) (*checkout.Merchant, error) {
	key := s.k.merchant(id)
	for range maxMerchantRetries {
		old, err := s.rdb.HGet(ctx, key, "doc").Result()
		if errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("merchant %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return nil, wrap("read merchant", err)
		}
		var m checkout.Merchant
		if err := json.Unmarshal([]byte(old), &m); err != nil {
			return nil, fmt.Errorf("decode merchant %s: %w", id, err)
		}
		if err := change(&m); err != nil {
			return nil, err
		}
		b, err := json.Marshal(&m)
		if err != nil {
			return nil, fmt.Errorf("encode merchant: %w", err)
		}
		ok, err := merchantCAS.Run(ctx, s.rdb, []string{key}, old, b).Int()
		if err != nil {
			return nil, wrap("update merchant", err)
		}
		if ok == 1 {
			return &m, nil
		}
	}
	return nil, fmt.Errorf("merchant %s kept changing: %w", id, ErrConflict)
}

// SetXPub claims the xpub for the merchant and stores it for the network (m is updated to
// the merchant as stored). The xpub it replaces stays claimed by the merchant.
func (s *Store) SetXPub(ctx context.Context, m *checkout.Merchant, n checkout.Network, xpub, fingerprint string) error {
	if err := s.ClaimXPub(ctx, fingerprint, m.ID); err != nil {
		return err
	}
	// A replaced xpub keeps its claim: addresses were handed out from it, and another merchant
	// deriving them again would be credited with this merchant's late funds.
	got, err := s.UpdateMerchant(ctx, m.ID, func(cur *checkout.Merchant) error {
		if cur.XPubs == nil {
			cur.XPubs = map[checkout.Network]string{}
		}
		cur.XPubs[n] = xpub
		return nil
	})
	if err != nil {
		return err
	}
	*m = *got
	return nil
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
// dev merchants never share deposit addresses, in this deployment or another on the same
// Redis (the counter is in the shared namespace). Accounts start at 1 (0 pays on the dev
// chain); the shared counter starts above this prefix's own older counter.
func (s *Store) NextDevAccount(ctx context.Context) (uint32, error) {
	local, err := s.rdb.Get(ctx, s.k.devAccounts()).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("allocate dev account: %w", err)
	}
	n, err := nextAboveScript.Run(ctx, s.rdb, []string{s.k.sharedDevAccounts()}, local).Int64()
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
