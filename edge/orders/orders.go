// Package orders is the one writer of order state. It creates and reads orders for merchants:
// it validates requests (params.go), makes creation idempotent, and gives each order a fresh
// deposit address derived from the merchant's xpub for the order's network. After creation it
// changes them (change.go): a watcher's transfer applied (ApplyTransfer) and the passing of the
// expiry time (Expire), each decided by the status rules (checkout.Rules) and committed through
// one load → decide → commit → retry → announce step.
package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// Service creates, reads and changes orders. Safe for concurrent use.
type Service struct {
	Store     *store.Store
	PublicURL string           // base of payment_url, e.g. "https://pay.example.com"
	Now       func() time.Time // default time.Now
	// Rules are the status rules' settings (dust threshold, payment cap, reorg grace); every
	// edge replica must use the same. Zero: the defaults.
	Rules checkout.Rules
	Log   *slog.Logger // default slog.Default()

	accountKeys sync.Map // xpub string → *deposit.AccountKey (parsing costs more than deriving)
}

// Create makes an order for the merchant, or with an idempotency key returns the order an
// earlier request with that key made (replayed true). The same key with other parameters is
// a 422 idempotency_key_reused. Concurrent requests with one key all get the same order: the
// first to claim the key fixes the order id, address index and creation time, and whoever
// writes first writes the identical order.
func (s *Service) Create(ctx context.Context, m *checkout.Merchant, p *CreateParams) (o *checkout.Order, replayed bool, err error) {
	return s.create(ctx, m, p, nil)
}

// ClaimFor is the claim a create of p for the merchant makes, for a caller that sends it in
// one round trip with its other Redis work (store.Admission) and then calls CreateClaimed;
// nil when the create claims on its own (addresses mode, or no usable xpub: Create says why).
func (s *Service) ClaimFor(m *checkout.Merchant, p *CreateParams) *store.ClaimRequest {
	if m.ReceiveFor(p.Network).Mode == checkout.ReceiveAddresses || m.XPubs[p.Network] == "" {
		return nil
	}
	key, err := s.accountKey(m.XPubs[p.Network])
	if err != nil {
		return nil
	}
	return &store.ClaimRequest{MerchantID: m.ID, Counter: key.Fingerprint(), IdemKey: p.IdempotencyKey,
		OrderID: ids.Order(), ParamsHash: p.Hash(), Now: s.now()}
}

// CreateClaimed is Create with the claim ClaimFor asked for already made.
func (s *Service) CreateClaimed(ctx context.Context, m *checkout.Merchant, p *CreateParams, c store.Claim) (*checkout.Order, bool, error) {
	return s.create(ctx, m, p, &c)
}

func (s *Service) create(ctx context.Context, m *checkout.Merchant, p *CreateParams, made *store.Claim) (o *checkout.Order, replayed bool, err error) {
	if cfg := m.ReceiveFor(p.Network); cfg.Mode == checkout.ReceiveAddresses {
		return s.createReserved(ctx, m, p, cfg)
	}
	xpub := m.XPubs[p.Network]
	if xpub == "" {
		return nil, false, invalid(checkout.CodeNetworkNotEnabled, "network",
			fmt.Sprintf("this merchant has no %s deposit key configured; ask the operator to set an xpub for %s", p.Network, p.Network))
	}
	key, err := s.accountKey(xpub)
	if err != nil {
		return nil, false, fmt.Errorf("merchant %s %s xpub: %w", m.ID, p.Network, err)
	}
	var claim store.Claim
	var prior *checkout.Order
	if made != nil {
		claim = *made
		prior, err = s.replayOf(ctx, claim, p.Hash())
	} else {
		claim, prior, err = s.claim(ctx, m.ID, key.Fingerprint(), p)
	}
	if err != nil || prior != nil {
		return prior, prior != nil, err
	}
	addr, path, err := key.Address(p.Network, claim.Index)
	for errors.Is(err, deposit.ErrInvalidChild) {
		if claim.Index, err = s.Store.SkipIndex(ctx, m.ID, key.Fingerprint(), p.IdempotencyKey, claim.Index); err != nil {
			return nil, false, err
		}
		addr, path, err = key.Address(p.Network, claim.Index)
	}
	if err != nil {
		return nil, false, fmt.Errorf("derive deposit address: %w", err)
	}
	created := claim.CreatedAt.UTC().Truncate(time.Second)
	o = &checkout.Order{
		ID: claim.OrderID, Status: checkout.StatusPending, Amount: p.Amount,
		Currency: checkout.Currency, Network: p.Network, Address: addr, PayAmount: p.Amount,
		TolerancePercent: p.Tolerance, Description: p.Description, Metadata: p.Metadata,
		// Only an explicit override is stored: the merchant's default is resolved when each
		// delivery is sent, so fixing a broken default fixes pending retries too.
		ReturnURL: p.ReturnURL, WebhookURL: p.WebhookURL,
		PaymentURL: strings.TrimRight(s.PublicURL, "/") + "/pay/" + claim.OrderID,
		DeepLink:   checkout.DeepLink(claim.OrderID), DerivationPath: path,
		Payments: []checkout.Payment{}, CreatedAt: created, ExpiresAt: created.Add(m.TTL()),
	}
	o.AllowNetworkSwitch, o.SwitchNetworks = switchSettings(m, p)
	ev := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: created, Order: *o}
	stored, _, err := s.Store.CreateOrder(ctx, o, m.ID, &ev)
	if err != nil {
		return nil, false, err
	}
	// The claim, not who wrote the bytes, says which request created the order: a concurrent
	// replay may write the identical order first, and the claimer still answers 201.
	return stored, claim.Replayed, nil
}

// Get returns the merchant's order. Another merchant's order is reported as not found, so ids
// cannot be probed.
func (s *Service) Get(ctx context.Context, merchantID, id string) (*checkout.Order, error) {
	rec, err := s.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.MerchantID != merchantID {
		return nil, checkout.NotFound("order")
	}
	return &rec.Order, nil
}

// Loaded is Get for an order the caller loaded itself (rec nil: no such order).
func Loaded(merchantID string, rec *store.Record) (*checkout.Order, error) {
	if rec == nil || rec.MerchantID != merchantID {
		return nil, checkout.NotFound("order")
	}
	return &rec.Order, nil
}

// Lookup returns any order by id (for the public checkout, which shows only the customer
// view), translating a missing order to the API's 404.
func (s *Service) Lookup(ctx context.Context, id string) (*store.Record, error) {
	if !ValidOrderID(id) {
		return nil, checkout.NotFound("order")
	}
	rec, err := s.Store.Order(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, checkout.NotFound("order")
	}
	return rec, err
}

// ValidOrderID reports whether id has the shape "ord_" + 26 Crockford base32 characters.
func ValidOrderID(id string) bool {
	rest, ok := strings.CutPrefix(id, "ord_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (s *Service) accountKey(xpub string) (*deposit.AccountKey, error) {
	if k, ok := s.accountKeys.Load(xpub); ok {
		return k.(*deposit.AccountKey), nil
	}
	k, err := deposit.ParseAccountXPub(xpub)
	if err != nil {
		return nil, err
	}
	s.accountKeys.Store(xpub, k)
	return k, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// claim reserves the order's identity and its index under counter (ClaimOrder). For an
// idempotent replay whose order is stored it returns that order; a replay with other
// parameters is refused. A replay whose first request is still writing (or died doing so)
// gets the claim back, so the caller builds the identical order.
func (s *Service) claim(ctx context.Context, merchantID, counter string, p *CreateParams) (store.Claim, *checkout.Order, error) {
	hash := p.Hash()
	claim, err := s.Store.ClaimOrder(ctx, merchantID, counter, p.IdempotencyKey, ids.Order(), hash, s.now())
	if err != nil {
		return claim, nil, err
	}
	prior, err := s.replayOf(ctx, claim, hash)
	return claim, prior, err
}

// replayOf is the order of a replayed claim (nil when its first request has not stored it
// yet, or the claim is new); a replay with other parameters (hash) is refused.
func (s *Service) replayOf(ctx context.Context, claim store.Claim, hash string) (*checkout.Order, error) {
	if !claim.Replayed {
		return nil, nil
	}
	if claim.ParamsHash != hash {
		return nil, checkout.NewError(checkout.CodeIdempotencyKeyReused, "idempotency_key",
			"this idempotency_key was used with different parameters in the last 24 hours")
	}
	rec, err := s.Store.Order(ctx, claim.OrderID)
	if err == nil {
		return &rec.Order, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}
