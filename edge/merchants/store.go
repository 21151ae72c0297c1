package merchants

import (
	"context"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Store is what changing an existing merchant needs from the records: edge/store.Store (the
// command line and the dashboard both pass it). Creating a merchant (Create) and the xpub
// registry's start-up pass need the concrete *store.Store.
type Store interface {
	Merchant(ctx context.Context, id string) (*checkout.Merchant, error)
	Merchants(ctx context.Context) ([]*checkout.Merchant, error)
	UpdateMerchant(ctx context.Context, id string, change func(m *checkout.Merchant) error) (*checkout.Merchant, error)
	Keys(ctx context.Context, merchantID string) ([]*checkout.APIKey, error)
	APIKey(ctx context.Context, id string) (*checkout.APIKey, error)
	AddKey(ctx context.Context, key *checkout.APIKey) error
	PutKey(ctx context.Context, key *checkout.APIKey) error
	SetXPub(ctx context.Context, m *checkout.Merchant, n checkout.Network, xpub, fingerprint string) error
	BindReceiveAddress(ctx context.Context, merchantID string, n checkout.Network, addr string) error
	Block(ctx context.Context, n checkout.Network, addr string) error
	Unblock(ctx context.Context, n checkout.Network, addr string) error
	Blocked(ctx context.Context, n checkout.Network) ([]string, error)
}

var _ Store = (*store.Store)(nil)
