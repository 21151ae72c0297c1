// Package merchants is the operator's management of merchants: create, read and change them,
// their API keys, webhook secrets and xpubs, and the sender blocklist. `edge merchant …` calls
// it; so can an admin API. Each function takes the store and typed parameters and returns a
// typed result; a bad parameter is an *InvalidError naming it, an unknown merchant or key an
// error wrapping checkout.ErrNotFound, a taken xpub one wrapping store.ErrXPubInUse.
//
// Results carry secrets only where an operator must see them once: Created, RotatedKey and
// RotatedSecret. View (list, show, set) never does.
package merchants

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/store"
)

// InvalidError is a parameter the operator must fix. Param is the parameter's name in
// snake_case (webhook_url, order_ttl, …): the command line shows it as --webhook-url.
type InvalidError struct {
	Param   string
	Message string
}

func (e *InvalidError) Error() string { return e.Param + ": " + e.Message }

func invalid(param, format string, args ...any) error {
	return &InvalidError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrKeyOfAnotherMerchant is RotateKey's answer to a key to revoke that is not the merchant's.
var ErrKeyOfAnotherMerchant = errors.New("the key belongs to another merchant")

// Settings are the merchant settings create and set share. Zero values leave a setting as it
// is (set) or at its default (create: order TTL 30m, the edge's rate limit, no webhook URL,
// any return host, no embed origins).
type Settings struct {
	WebhookURL   string        // absolute https URL (http too in dev mode), never to an internal address outside dev mode
	ReturnHosts  []string      // allowed return_url hosts; none = any
	EmbedOrigins []string      // origins allowed to frame the checkout, normalized on save
	OrderTTL     time.Duration // 1m to 168h
	RateLimit    int           // API requests per second per key; ≥ 0
	// What the checkout shows the customer (rules in the root display.go); "none" clears one
	// on set.
	LogoURL      string // https URL, or a data:image/…;base64 URL of at most 8 KiB
	SupportURL   string // https URL
	SupportEmail string // plain address
	// AllowNetworkSwitch is the default of new orders' allow_network_switch (nil: unchanged
	// on set, false on create).
	AllowNetworkSwitch *bool
}

// CreateParams are a new merchant's settings.
type CreateParams struct {
	Name string // required
	// XPubs are account-level xpubs per network (m/44'/60'/0' for ERC20, m/44'/195'/0' for
	// TRC20); a private key is refused.
	XPubs map[checkout.Network]string
	Settings
	// Dev is development mode: http webhook URLs and internal hosts are allowed, and networks
	// without an xpub get a fresh account of the public development mnemonic.
	Dev bool
}

// Created is a new merchant with its first API key. Its secrets are shown only once.
type Created struct {
	MerchantID    string                      `json:"merchant_id"`
	Name          string                      `json:"name"`
	KeyID         string                      `json:"key_id"`
	Secret        string                      `json:"secret"`
	WebhookSecret string                      `json:"webhook_secret"`
	XPubs         map[checkout.Network]string `json:"xpubs"`
	Dev           bool                        `json:"dev"`
	Note          string                      `json:"note"`
	// DevAccount is the development mnemonic's account the missing xpubs came from, when
	// some did (Dev is then true): anyone can spend what is sent to its addresses.
	DevAccount *uint32 `json:"-"`
}

// Create stores a new merchant and its first API key. Its xpubs are claimed across every
// deployment on the Redis; one taken is an error wrapping store.ErrXPubInUse, and then
// nothing is stored.
func Create(ctx context.Context, st *store.Store, p CreateParams) (*Created, error) {
	if err := checkout.CheckMerchantName(p.Name); err != nil {
		return nil, invalid("name", "%v", err)
	}
	m := &checkout.Merchant{ID: ids.Merchant(), Name: p.Name, XPubs: map[checkout.Network]string{},
		ReturnHosts: p.ReturnHosts, EmbedOrigins: p.EmbedOrigins, OrderTTL: p.OrderTTL, RateLimit: p.RateLimit,
		WebhookSecret: secret("whsec_"), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if err := applySettings(m, p.WebhookURL, p.Dev); err != nil {
		return nil, err
	}
	if err := applyDisplay(m, p.Settings, p.Dev); err != nil {
		return nil, err
	}
	if p.AllowNetworkSwitch != nil {
		m.AllowNetworkSwitch = *p.AllowNetworkSwitch
	}
	given := map[checkout.Network]string{}
	for _, n := range checkout.Networks {
		given[n] = p.XPubs[n]
	}
	var devAcct *uint32
	if p.Dev && (given[checkout.ERC20] == "" || given[checkout.TRC20] == "") {
		account, err := devAccount(ctx, st, m.ID, given)
		if err != nil {
			return nil, err
		}
		m.Dev, devAcct = true, &account
	}
	var fps []string
	for _, n := range checkout.Networks {
		if given[n] == "" {
			continue
		}
		k, err := deposit.ParseAccountXPub(given[n])
		if err != nil {
			return nil, invalid(strings.ToLower(string(n))+"_xpub", "%v", err)
		}
		m.XPubs[n] = k.String()
		fps = append(fps, k.Fingerprint())
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: secret("sk_"), CreatedAt: m.CreatedAt}
	if err := st.CreateMerchant(ctx, m, key, fps); err != nil {
		return nil, fmt.Errorf("create merchant: %w", err)
	}
	return &Created{MerchantID: m.ID, Name: m.Name, KeyID: key.ID, Secret: key.Secret,
		WebhookSecret: m.WebhookSecret, XPubs: m.XPubs, Dev: m.Dev, DevAccount: devAcct,
		Note: "secret and webhook_secret are shown only now; store them safely"}, nil
}

// View is a merchant's settings and key ids, never a secret.
type View struct {
	MerchantID   string                      `json:"merchant_id"`
	Name         string                      `json:"name"`
	XPubs        map[checkout.Network]string `json:"xpubs"`
	WebhookURL   string                      `json:"webhook_url"`
	ReturnHosts  []string                    `json:"return_hosts"`
	EmbedOrigins []string                    `json:"embed_origins"`
	OrderTTL     string                      `json:"order_ttl"` // effective, e.g. "30m0s"
	RateLimit    int                         `json:"rate_limit"`
	Dev          bool                        `json:"dev"`
	LogoURL      string                      `json:"logo_url,omitempty"`
	SupportURL   string                      `json:"support_url,omitempty"`
	SupportEmail string                      `json:"support_email,omitempty"`
	// AllowNetworkSwitch is the default of new orders' allow_network_switch.
	AllowNetworkSwitch bool      `json:"allow_network_switch"`
	CreatedAt          time.Time `json:"created_at"`
	Keys               []KeyView `json:"keys"`
	// Receive is the receive mode per network (xpub when a network has no entry).
	Receive map[checkout.Network]checkout.ReceiveConfig `json:"receive"`
}

// KeyView is one API key without its secret.
type KeyView struct {
	KeyID     string     `json:"key_id"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// List returns every merchant's view.
func List(ctx context.Context, st Store) ([]View, error) {
	ms, err := st.Merchants(ctx)
	if err != nil {
		return nil, err
	}
	views := []View{}
	for _, m := range ms {
		v, err := view(ctx, st, m)
		if err != nil {
			return nil, err
		}
		views = append(views, *v)
	}
	return views, nil
}

// Show returns one merchant's view.
func Show(ctx context.Context, st Store, id string) (*View, error) {
	m, err := load(ctx, st, id)
	if err != nil {
		return nil, err
	}
	return view(ctx, st, m)
}

// SetParams change a merchant's settings: Settings' zero values change nothing, ReturnHosts
// and EmbedOrigins are added (after clearing, when asked).
type SetParams struct {
	ID   string // required
	Name string // "" = unchanged
	Settings
	ClearReturnHosts  bool // allow any return_url host (before adding ReturnHosts)
	ClearEmbedOrigins bool // remove every embed origin (before adding EmbedOrigins)
	Dev               bool // as CreateParams.Dev, for the webhook URL
}

// Set changes a merchant's settings and returns its view.
func Set(ctx context.Context, st Store, p SetParams) (*View, error) {
	if _, err := load(ctx, st, p.ID); err != nil {
		return nil, err
	}
	if p.Name != "" {
		if err := checkout.CheckMerchantName(p.Name); err != nil {
			return nil, invalid("name", "%v", err)
		}
	}
	// Applied to the merchant as stored, again if another change lands first (so it is kept).
	m, err := st.UpdateMerchant(ctx, p.ID, func(m *checkout.Merchant) error {
		if p.Name != "" {
			m.Name = p.Name
		}
		if err := applyDisplay(m, p.Settings, p.Dev); err != nil {
			return err
		}
		if p.ClearReturnHosts {
			m.ReturnHosts = nil
		}
		m.ReturnHosts = append(m.ReturnHosts, p.ReturnHosts...)
		if p.ClearEmbedOrigins {
			m.EmbedOrigins = nil
		}
		m.EmbedOrigins = append(m.EmbedOrigins, p.EmbedOrigins...)
		if p.OrderTTL != 0 {
			m.OrderTTL = p.OrderTTL
		}
		if p.RateLimit != 0 {
			m.RateLimit = p.RateLimit
		}
		if p.AllowNetworkSwitch != nil {
			m.AllowNetworkSwitch = *p.AllowNetworkSwitch
		}
		return applySettings(m, p.WebhookURL, p.Dev)
	})
	if err != nil {
		return nil, err
	}
	return view(ctx, st, m)
}

// XPubSet is SetXPub's result: the xpub as stored.
type XPubSet struct {
	MerchantID string           `json:"merchant_id"`
	Network    checkout.Network `json:"network"`
	XPub       string           `json:"xpub"`
}

// SetXPub gives a merchant's network a new account xpub. The old one stays claimed by the
// merchant (addresses were handed out from it); an xpub of another merchant, on any
// deployment of the Redis, is an error wrapping store.ErrXPubInUse.
func SetXPub(ctx context.Context, st Store, id string, network, xpub string) (*XPubSet, error) {
	m, err := load(ctx, st, id)
	if err != nil {
		return nil, err
	}
	n, err := checkout.ParseNetwork(network)
	if err != nil {
		return nil, invalid("network", "%v", err)
	}
	k, err := deposit.ParseAccountXPub(xpub)
	if err != nil {
		return nil, invalid("xpub", "%v", err)
	}
	if err := st.SetXPub(ctx, m, n, k.String(), k.Fingerprint()); err != nil {
		return nil, err
	}
	return &XPubSet{MerchantID: m.ID, Network: n, XPub: k.String()}, nil
}

// RotatedKey is a merchant's new API key; its secret is shown only once.
type RotatedKey struct {
	MerchantID   string `json:"merchant_id"`
	KeyID        string `json:"key_id"`
	Secret       string `json:"secret"`
	RevokedKeyID string `json:"revoked_key_id,omitempty"`
}

// RotateKey adds an API key to a merchant and, when revoke is not empty, then revokes that
// key of the merchant at once (no grace period: requests signed with it are refused from
// then on). A key to revoke that is unknown (checkout.ErrNotFound) or another merchant's
// (ErrKeyOfAnotherMerchant) is refused before anything is stored.
func RotateKey(ctx context.Context, st Store, id, revoke string) (*RotatedKey, error) {
	m, err := load(ctx, st, id)
	if err != nil {
		return nil, err
	}
	if revoke != "" {
		if _, err := merchantKey(ctx, st, revoke, m.ID); err != nil {
			return nil, err
		}
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: secret("sk_"), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if err := st.AddKey(ctx, key); err != nil {
		return nil, err
	}
	res := &RotatedKey{MerchantID: m.ID, KeyID: key.ID, Secret: key.Secret}
	if revoke != "" {
		if err := revokeKey(ctx, st, revoke, m.ID); err != nil {
			return nil, err
		}
		res.RevokedKeyID = revoke
	}
	return res, nil
}

// RotatedSecret is a merchant's new webhook secret, shown only once; events are signed with
// it and the previous one until PreviousSignsUntil.
type RotatedSecret struct {
	MerchantID         string    `json:"merchant_id"`
	WebhookSecret      string    `json:"webhook_secret"`
	PreviousSignsUntil time.Time `json:"previous_secret_signs_until"`
	Note               string    `json:"note"`
}

// RotateWebhookSecret gives a merchant a new webhook secret; the old one keeps signing for
// checkout.WebhookSecretOverlap.
func RotateWebhookSecret(ctx context.Context, st Store, id string) (*RotatedSecret, error) {
	if err := requireID(id); err != nil {
		return nil, err // an unknown merchant is UpdateMerchant's not-found, read once
	}
	until := time.Now().UTC().Add(checkout.WebhookSecretOverlap).Truncate(time.Second)
	// On the merchant as stored: a copy read earlier would bring back the secret a
	// concurrent rotation replaced.
	m, err := st.UpdateMerchant(ctx, id, func(m *checkout.Merchant) error {
		m.WebhookSecretPrev, m.WebhookSecretPrevUntil = m.WebhookSecret, &until
		m.WebhookSecret = secret("whsec_")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &RotatedSecret{MerchantID: m.ID, WebhookSecret: m.WebhookSecret, PreviousSignsUntil: until,
		Note: "webhook_secret is shown only now; events are signed with both secrets until previous_secret_signs_until"}, nil
}

// RevokedKey is RevokeKey's result.
type RevokedKey struct {
	KeyID   string `json:"key_id"`
	Revoked bool   `json:"revoked"`
}

// RevokeKey revokes an API key (revoking it again keeps the first time).
func RevokeKey(ctx context.Context, st Store, keyID string) (*RevokedKey, error) {
	if keyID == "" {
		return nil, invalid("key_id", "is required")
	}
	if err := revokeKey(ctx, st, keyID, ""); err != nil {
		return nil, err
	}
	return &RevokedKey{KeyID: keyID, Revoked: true}, nil
}

// RevokeMerchantKey revokes one of the merchant's API keys, as RevokeKey does; a key of
// another merchant is ErrKeyOfAnotherMerchant and stays as it is.
func RevokeMerchantKey(ctx context.Context, st Store, merchantID, keyID string) (*RevokedKey, error) {
	if merchantID == "" {
		return nil, invalid("id", "is required")
	}
	if keyID == "" {
		return nil, invalid("key_id", "is required")
	}
	if err := revokeKey(ctx, st, keyID, merchantID); err != nil {
		return nil, err
	}
	return &RevokedKey{KeyID: keyID, Revoked: true}, nil
}

// BlockedSender is Block's and Unblock's result: the address in its canonical form.
type BlockedSender struct {
	Network checkout.Network `json:"network"`
	Address string           `json:"address"`
	Blocked bool             `json:"blocked"`
}

// Block puts a sender address on the network's blocklist: orders it pays are frozen.
func Block(ctx context.Context, st Store, network, address string) (*BlockedSender, error) {
	return setBlocked(ctx, st, network, address, true)
}

// Unblock takes a sender address off the network's blocklist.
func Unblock(ctx context.Context, st Store, network, address string) (*BlockedSender, error) {
	return setBlocked(ctx, st, network, address, false)
}

func setBlocked(ctx context.Context, st Store, network, address string, block bool) (*BlockedSender, error) {
	n, err := checkout.ParseNetwork(network)
	if err != nil {
		return nil, invalid("network", "%v", err)
	}
	raw, err := deposit.Parse(n, address)
	if err != nil {
		return nil, invalid("address", "%v", err)
	}
	canonical := deposit.Format(n, raw)
	if block {
		err = st.Block(ctx, n, canonical)
	} else {
		err = st.Unblock(ctx, n, canonical)
	}
	if err != nil {
		return nil, err
	}
	return &BlockedSender{Network: n, Address: canonical, Blocked: block}, nil
}

// Blocklist is a network's blocked sender addresses.
type Blocklist struct {
	Network   checkout.Network `json:"network"`
	Addresses []string         `json:"addresses"`
}

// Blocked returns a network's blocklist.
func Blocked(ctx context.Context, st Store, network string) (*Blocklist, error) {
	n, err := checkout.ParseNetwork(network)
	if err != nil {
		return nil, invalid("network", "%v", err)
	}
	list, err := st.Blocked(ctx, n)
	if err != nil {
		return nil, err
	}
	return &Blocklist{Network: n, Addresses: list}, nil
}

// RegisterXPubs claims this deployment's xpubs in the shared registry at start-up, so xpubs
// registered before it existed (or by a deployment started with another shared prefix) bind
// the other deployments on this Redis too. A conflict is logged, not fatal: the orders of
// both merchants keep working, and the operator must give one of them another xpub.
func RegisterXPubs(ctx context.Context, st *store.Store, log *slog.Logger) {
	conflicts, err := st.RegisterXPubs(ctx, func(x string) (string, error) {
		k, err := deposit.ParseAccountXPub(x)
		if err != nil {
			return "", err
		}
		return k.Fingerprint(), nil
	})
	if err != nil {
		log.Error("cannot register xpubs in the shared registry", "err", err)
	}
	for _, id := range conflicts {
		log.Error("merchant's xpub is registered to a merchant of another deployment on this Redis: both derive the same deposit addresses; set another xpub (edge merchant set-xpub)", "merchant_id", id)
	}
}

// maxDevAccountTries bounds the dev accounts tried when earlier ones are taken (by merchants
// made before the shared counter existed).
const maxDevAccountTries = 100

// devAccount fills the missing networks of given with the xpubs of a fresh account of the
// public development mnemonic, claimed for merchantID across every deployment on the Redis,
// and returns the account number.
func devAccount(ctx context.Context, st *store.Store, merchantID string, given map[checkout.Network]string) (uint32, error) {
	for range maxDevAccountTries {
		account, err := st.NextDevAccount(ctx)
		if err != nil {
			return 0, err
		}
		filled := map[checkout.Network]string{}
		var claimed []string
		var claimErr error
		for _, n := range checkout.Networks {
			if given[n] != "" {
				continue
			}
			x, err := deposit.DevAccountXPub(n, account)
			if err != nil {
				return 0, err
			}
			k, err := deposit.ParseAccountXPub(x)
			if err != nil {
				return 0, err
			}
			if claimErr = st.ClaimXPub(ctx, k.Fingerprint(), merchantID); claimErr != nil {
				break
			}
			filled[n], claimed = x, append(claimed, k.Fingerprint())
		}
		if claimErr == nil {
			maps.Copy(given, filled)
			return account, nil
		}
		for _, fp := range claimed {
			_ = st.ReleaseXPub(context.WithoutCancel(ctx), fp, merchantID)
		}
		if !errors.Is(claimErr, store.ErrXPubInUse) {
			return 0, claimErr
		}
	}
	return 0, fmt.Errorf("no free development account after %d tries", maxDevAccountTries)
}

// applySettings validates and sets the settings shared by create and set.
// applyDisplay checks and sets what the checkout shows the customer; an empty setting is
// left as it is, "none" clears it.
func applyDisplay(m *checkout.Merchant, s Settings, dev bool) error {
	set := func(dst *string, v, param string, check func(string) error) error {
		switch v {
		case "":
			return nil
		case "none":
			*dst = ""
			return nil
		}
		if err := check(v); err != nil {
			return invalid(param, "%s", strings.TrimPrefix(err.Error(), param+": "))
		}
		*dst = v
		return nil
	}
	if err := set(&m.LogoURL, s.LogoURL, "logo_url", func(v string) error {
		_, err := checkout.ParseLogoURL(v, dev)
		return err
	}); err != nil {
		return err
	}
	if err := set(&m.SupportURL, s.SupportURL, "support_url", func(v string) error {
		_, err := checkout.ParseSupportURL(v, dev)
		return err
	}); err != nil {
		return err
	}
	return set(&m.SupportEmail, s.SupportEmail, "support_email", checkout.CheckEmail)
}

func applySettings(m *checkout.Merchant, webhookURL string, dev bool) error {
	if webhookURL != "" {
		// The order API's rule (checkout.ParseWebhookURL): a default the API would refuse
		// on an order is not accepted here either.
		if _, err := checkout.ParseWebhookURL(webhookURL, dev, outbox.InternalHost); err != nil {
			var ue *checkout.URLError
			errors.As(err, &ue)
			switch {
			case ue == nil || ue.Reason == checkout.URLNotAbsolute || ue.Reason == checkout.URLScheme || ue.Reason == checkout.URLInsecure:
				return invalid("webhook_url", "must be an absolute https URL (http only to a loopback host in dev mode)")
			case ue.Reason == checkout.URLBadHost:
				return invalid("webhook_url", "host must be a DNS name or an IP address")
			case ue.Reason == checkout.URLInternal:
				return invalid("webhook_url", "points to a loopback, private or reserved address; webhooks are never sent there")
			case ue.Reason == checkout.URLCredentials:
				return invalid("webhook_url", "must not carry credentials")
			default:
				return invalid("webhook_url", "%s", strings.TrimPrefix(ue.Error(), "webhook_url "))
			}
		}
		m.WebhookURL = webhookURL
	}
	for i, o := range m.EmbedOrigins {
		norm, err := checkout.ParseOrigin(o)
		if err != nil {
			return invalid("embed_origin", "%q must be an origin such as https://shop.example", o)
		}
		m.EmbedOrigins[i] = norm
	}
	for _, h := range m.ReturnHosts {
		if !checkout.ValidHost(h) {
			return invalid("return_host", "%q must be a host name such as shop.example (no scheme or path)", h)
		}
	}
	if m.OrderTTL < 0 || (m.OrderTTL != 0 && (m.OrderTTL < time.Minute || m.OrderTTL > 7*24*time.Hour)) {
		return invalid("order_ttl", "must be between 1m and 168h")
	}
	if m.RateLimit < 0 {
		return invalid("rate_limit", "must be positive")
	}
	return nil
}

func load(ctx context.Context, st Store, id string) (*checkout.Merchant, error) {
	if err := requireID(id); err != nil {
		return nil, err
	}
	return st.Merchant(ctx, id)
}

func requireID(id string) error {
	if id == "" {
		return invalid("id", "is required")
	}
	return nil
}

// merchantKey loads an API key, which must be merchantID's unless merchantID is "".
func merchantKey(ctx context.Context, st Store, keyID, merchantID string) (*checkout.APIKey, error) {
	k, err := st.APIKey(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if merchantID != "" && k.MerchantID != merchantID {
		return nil, fmt.Errorf("key %s: %w", keyID, ErrKeyOfAnotherMerchant)
	}
	return k, nil
}

func revokeKey(ctx context.Context, st Store, keyID, merchantID string) error {
	k, err := merchantKey(ctx, st, keyID, merchantID)
	if err != nil {
		return err
	}
	if k.RevokedAt == nil {
		now := time.Now().UTC().Truncate(time.Second)
		k.RevokedAt = &now
	}
	return st.PutKey(ctx, k)
}

// view is what list and show print: settings and key ids, never secrets.
func view(ctx context.Context, st Store, m *checkout.Merchant) (*View, error) {
	keys, err := st.Keys(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	kv := []KeyView{}
	for _, k := range keys {
		kv = append(kv, KeyView{KeyID: k.ID, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt})
	}
	return &View{MerchantID: m.ID, Name: m.Name, XPubs: m.XPubs, WebhookURL: m.WebhookURL,
		ReturnHosts: m.ReturnHosts, EmbedOrigins: m.EmbedOrigins, OrderTTL: m.TTL().String(),
		RateLimit: m.RateLimit, Dev: m.Dev, LogoURL: m.LogoURL, SupportURL: m.SupportURL,
		SupportEmail: m.SupportEmail, AllowNetworkSwitch: m.AllowNetworkSwitch, CreatedAt: m.CreatedAt, Keys: kv, Receive: receiveView(m)}, nil
}

// secret returns prefix + 32 random bytes, base64url.
func secret(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
