package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/webhook"
	"github.com/mpchat/checkout/internal/envflag"
)

const merchantUsage = `usage: edge merchant <command> [flags]

  create      --name N [--erc20-xpub X] [--trc20-xpub Y] [--webhook-url U] [--return-host H]...
              [--embed-origin O]... [--order-ttl 30m] [--rate-limit N] [--dev]
  list        all merchants (no secrets)
  show        --id M
  set         --id M [--name N] [--webhook-url U] [--return-host H]... [--clear-return-hosts]
              [--embed-origin O]... [--clear-embed-origins] [--order-ttl D] [--rate-limit N]
  set-xpub    --id M --network ERC20|TRC20 --xpub X
  rotate-key  --id M [--revoke KEY_ID]     new API key (secret shown once)
  rotate-webhook-secret --id M            new webhook secret (shown once)
  revoke-key  --key-id K
  block       --network N --address A     freeze orders paid from this sender
  unblock     --network N --address A
  blocklist   --network N
`

// merchantCmd runs an operator command. Results are one JSON document on stdout; secrets
// appear only in the output of create, rotate-key and rotate-webhook-secret.
func merchantCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, merchantUsage)
		return errors.New("merchant: missing command")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("merchant "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	var (
		id, name, webhookURL, network, xpub, address, keyID, revoke string
		erc20, trc20                                                string
		returnHosts, embedOrigins                                   stringList
		clearHosts, clearOrigins                                    bool
		ttl                                                         time.Duration
		rate                                                        int
		dev                                                         bool
	)
	fs.StringVar(&id, "id", "", "merchant id")
	fs.StringVar(&name, "name", "", "merchant name")
	fs.StringVar(&webhookURL, "webhook-url", "", "default webhook URL")
	fs.StringVar(&network, "network", "", "ERC20 or TRC20")
	fs.StringVar(&xpub, "xpub", "", "account-level xpub (m/44'/60'/0' for ERC20, m/44'/195'/0' for TRC20)")
	fs.StringVar(&erc20, "erc20-xpub", "", "ERC20 account xpub (m/44'/60'/0')")
	fs.StringVar(&trc20, "trc20-xpub", "", "TRC20 account xpub (m/44'/195'/0')")
	fs.StringVar(&address, "address", "", "sender address in the network's format")
	fs.StringVar(&keyID, "key-id", "", "API key id")
	fs.StringVar(&revoke, "revoke", "", "with rotate-key: revoke this key id once the new one exists")
	fs.Var(&returnHosts, "return-host", "allowed return_url host (repeatable; none = any)")
	fs.Var(&embedOrigins, "embed-origin", "origin allowed to embed the checkout, e.g. https://shop.example (repeatable)")
	fs.BoolVar(&clearHosts, "clear-return-hosts", false, "with set: allow any return_url host")
	fs.BoolVar(&clearOrigins, "clear-embed-origins", false, "with set: remove all embed origins")
	fs.DurationVar(&ttl, "order-ttl", 0, "how long orders wait for payment (default 30m)")
	fs.IntVar(&rate, "rate-limit", 0, "API requests per second per key (default: the edge's)")
	fs.BoolVar(&dev, "dev", env.Bool("MP_DEV", false), "development mode: missing xpubs get the public development mnemonic's (dev chain only!)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	rdb, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer rdb.Close()
	st := rf.store(rdb)
	out := json.NewEncoder(stdout)
	out.SetIndent("", "  ")

	switch cmd {
	case "create":
		if strings.TrimSpace(name) == "" {
			return errors.New("create: --name is required")
		}
		m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{},
			ReturnHosts: returnHosts, EmbedOrigins: embedOrigins, OrderTTL: ttl, RateLimit: rate,
			WebhookSecret: secret("whsec_"), CreatedAt: time.Now().UTC().Truncate(time.Second)}
		if err := applySettings(m, webhookURL, dev); err != nil {
			return err
		}
		given := map[checkout.Network]string{checkout.ERC20: erc20, checkout.TRC20: trc20}
		if dev && (erc20 == "" || trc20 == "") {
			account, err := devAccount(ctx, st, m.ID, given)
			if err != nil {
				return err
			}
			m.Dev = true
			fmt.Fprintf(stderr, "\n*** DEVELOPMENT MERCHANT ***\n"+
				"Missing xpubs were filled from the PUBLIC development mnemonic (account %d'). Anyone can spend\n"+
				"funds sent to these addresses. Use them only with the local dev chain, never on mainnet.\n\n", account)
		}
		var fps []string
		for _, n := range checkout.Networks {
			if given[n] == "" {
				continue
			}
			k, err := deposit.ParseAccountXPub(given[n])
			if err != nil {
				return fmt.Errorf("--%s-xpub: %w", strings.ToLower(string(n)), err)
			}
			m.XPubs[n] = k.String()
			fps = append(fps, k.Fingerprint())
		}
		key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: secret("sk_"), CreatedAt: m.CreatedAt}
		if err := st.CreateMerchant(ctx, m, key, fps); err != nil {
			return fmt.Errorf("create merchant: %w", err)
		}
		return out.Encode(map[string]any{
			"merchant_id": m.ID, "name": m.Name, "key_id": key.ID, "secret": key.Secret,
			"webhook_secret": m.WebhookSecret, "xpubs": m.XPubs, "dev": m.Dev,
			"note": "secret and webhook_secret are shown only now; store them safely",
		})
	case "list":
		ms, err := st.Merchants(ctx)
		if err != nil {
			return err
		}
		views := []map[string]any{}
		for _, m := range ms {
			v, err := merchantView(ctx, st, m)
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		return out.Encode(views)
	case "show":
		m, err := loadMerchant(ctx, st, id)
		if err != nil {
			return err
		}
		v, err := merchantView(ctx, st, m)
		if err != nil {
			return err
		}
		return out.Encode(v)
	case "set":
		m, err := loadMerchant(ctx, st, id)
		if err != nil {
			return err
		}
		if name != "" {
			m.Name = name
		}
		if clearHosts {
			m.ReturnHosts = nil
		}
		m.ReturnHosts = append(m.ReturnHosts, returnHosts...)
		if clearOrigins {
			m.EmbedOrigins = nil
		}
		m.EmbedOrigins = append(m.EmbedOrigins, embedOrigins...)
		if ttl != 0 {
			m.OrderTTL = ttl
		}
		if rate != 0 {
			m.RateLimit = rate
		}
		if err := applySettings(m, webhookURL, dev); err != nil {
			return err
		}
		if err := st.PutMerchant(ctx, m); err != nil {
			return err
		}
		v, err := merchantView(ctx, st, m)
		if err != nil {
			return err
		}
		return out.Encode(v)
	case "set-xpub":
		m, err := loadMerchant(ctx, st, id)
		if err != nil {
			return err
		}
		n, err := checkout.ParseNetwork(network)
		if err != nil {
			return fmt.Errorf("--network: %w", err)
		}
		k, err := deposit.ParseAccountXPub(xpub)
		if err != nil {
			return fmt.Errorf("--xpub: %w", err)
		}
		if err := st.SetXPub(ctx, m, n, k.String(), k.Fingerprint()); err != nil {
			return err
		}
		return out.Encode(map[string]any{"merchant_id": m.ID, "network": n, "xpub": k.String()})
	case "rotate-key":
		m, err := loadMerchant(ctx, st, id)
		if err != nil {
			return err
		}
		key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: secret("sk_"), CreatedAt: time.Now().UTC().Truncate(time.Second)}
		if err := st.AddKey(ctx, key); err != nil {
			return err
		}
		res := map[string]any{"merchant_id": m.ID, "key_id": key.ID, "secret": key.Secret}
		if revoke != "" {
			if err := revokeKey(ctx, st, revoke, m.ID); err != nil {
				return err
			}
			res["revoked_key_id"] = revoke
		}
		return out.Encode(res)
	case "rotate-webhook-secret":
		m, err := loadMerchant(ctx, st, id)
		if err != nil {
			return err
		}
		until := time.Now().UTC().Add(checkout.WebhookSecretOverlap).Truncate(time.Second)
		m.WebhookSecretPrev, m.WebhookSecretPrevUntil = m.WebhookSecret, &until
		m.WebhookSecret = secret("whsec_")
		if err := st.PutMerchant(ctx, m); err != nil {
			return err
		}
		return out.Encode(map[string]any{"merchant_id": m.ID, "webhook_secret": m.WebhookSecret,
			"previous_secret_signs_until": until,
			"note":                        "webhook_secret is shown only now; events are signed with both secrets until previous_secret_signs_until"})
	case "revoke-key":
		if err := revokeKey(ctx, st, keyID, ""); err != nil {
			return err
		}
		return out.Encode(map[string]any{"key_id": keyID, "revoked": true})
	case "block", "unblock", "blocklist":
		n, err := checkout.ParseNetwork(network)
		if err != nil {
			return fmt.Errorf("--network: %w", err)
		}
		if cmd == "blocklist" {
			list, err := st.Blocked(ctx, n)
			if err != nil {
				return err
			}
			return out.Encode(map[string]any{"network": n, "addresses": list})
		}
		raw, err := deposit.Parse(n, address)
		if err != nil {
			return fmt.Errorf("--address: %w", err)
		}
		canonical := deposit.Format(n, raw)
		if cmd == "block" {
			err = st.Block(ctx, n, canonical)
		} else {
			err = st.Unblock(ctx, n, canonical)
		}
		if err != nil {
			return err
		}
		return out.Encode(map[string]any{"network": n, "address": canonical, "blocked": cmd == "block"})
	}
	fmt.Fprint(stderr, merchantUsage)
	return fmt.Errorf("merchant: unknown command %q", cmd)
}

// registerXPubs claims this deployment's xpubs in the shared registry at start-up, so xpubs
// registered before it existed (or by a deployment started with another shared prefix) bind
// the other deployments on this Redis too. A conflict is logged, not fatal: the orders of
// both merchants keep working, and the operator must give one of them another xpub.
func registerXPubs(ctx context.Context, st *store.Store, log *slog.Logger) {
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
func applySettings(m *checkout.Merchant, webhookURL string, dev bool) error {
	if webhookURL != "" {
		u, err := url.Parse(webhookURL)
		if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && !(dev && u.Scheme == "http")) {
			return fmt.Errorf("--webhook-url must be an absolute https URL (http only with --dev)")
		}
		if !checkout.ValidHost(u.Hostname()) {
			return fmt.Errorf("--webhook-url host must be a DNS name or an IP address")
		}
		if !dev && webhook.InternalHost(u.Hostname()) {
			return fmt.Errorf("--webhook-url points to a loopback, private or reserved address; webhooks are never sent there")
		}
		m.WebhookURL = webhookURL
	}
	for i, o := range m.EmbedOrigins {
		norm, ok := checkout.ParseOrigin(o)
		if !ok {
			return fmt.Errorf("--embed-origin %q must be an origin such as https://shop.example", o)
		}
		m.EmbedOrigins[i] = norm
	}
	for _, h := range m.ReturnHosts {
		if !checkout.ValidHost(h) {
			return fmt.Errorf("--return-host %q must be a host name such as shop.example (no scheme or path)", h)
		}
	}
	if m.OrderTTL < 0 || (m.OrderTTL != 0 && (m.OrderTTL < time.Minute || m.OrderTTL > 7*24*time.Hour)) {
		return fmt.Errorf("--order-ttl must be between 1m and 168h")
	}
	if m.RateLimit < 0 {
		return fmt.Errorf("--rate-limit must be positive")
	}
	return nil
}

func loadMerchant(ctx context.Context, st *store.Store, id string) (*checkout.Merchant, error) {
	if id == "" {
		return nil, errors.New("--id is required")
	}
	return st.Merchant(ctx, id)
}

func revokeKey(ctx context.Context, st *store.Store, keyID, merchantID string) error {
	k, err := st.APIKey(ctx, keyID)
	if err != nil {
		return err
	}
	if merchantID != "" && k.MerchantID != merchantID {
		return fmt.Errorf("key %s belongs to another merchant", keyID)
	}
	if k.RevokedAt == nil {
		now := time.Now().UTC().Truncate(time.Second)
		k.RevokedAt = &now
	}
	return st.PutKey(ctx, k)
}

// merchantView is what list and show print: settings and key ids, never secrets.
func merchantView(ctx context.Context, st *store.Store, m *checkout.Merchant) (map[string]any, error) {
	keys, err := st.Keys(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	kv := []map[string]any{}
	for _, k := range keys {
		kv = append(kv, map[string]any{"key_id": k.ID, "created_at": k.CreatedAt, "revoked_at": k.RevokedAt})
	}
	return map[string]any{
		"merchant_id": m.ID, "name": m.Name, "xpubs": m.XPubs, "webhook_url": m.WebhookURL,
		"return_hosts": m.ReturnHosts, "embed_origins": m.EmbedOrigins, "order_ttl": m.TTL().String(),
		"rate_limit": m.RateLimit, "dev": m.Dev, "created_at": m.CreatedAt, "keys": kv,
	}, nil
}

// secret returns prefix + 32 random bytes, base64url.
func secret(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
