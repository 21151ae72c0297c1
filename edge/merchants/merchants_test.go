package merchants_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/merchants"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

func newStore(t *testing.T) *store.Store {
	srv := redistest.Shared(t)
	return store.New(srv.Client(t), redistest.Prefix()).WithSharedPrefix(redistest.Prefix())
}

// TestInvalidParamsAreTyped: every refused parameter is an *InvalidError naming it (what an
// admin API turns into its 400 and the command line into --flag), and nothing is stored.
func TestInvalidParamsAreTyped(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cases := []struct {
		name, param string
		p           merchants.CreateParams
	}{
		{"no name", "name", merchants.CreateParams{Name: " "}},
		{"http webhook outside dev", "webhook_url", merchants.CreateParams{Name: "a", Settings: merchants.Settings{WebhookURL: "http://acme.example/h"}}},
		{"metadata address", "webhook_url", merchants.CreateParams{Name: "a", Settings: merchants.Settings{WebhookURL: "https://169.254.169.254/h"}}},
		{"origin with a path", "embed_origin", merchants.CreateParams{Name: "a", Settings: merchants.Settings{EmbedOrigins: []string{"https://shop.example/path"}}}},
		{"return host with a scheme", "return_host", merchants.CreateParams{Name: "a", Settings: merchants.Settings{ReturnHosts: []string{"https://shop.example"}}}},
		{"short ttl", "order_ttl", merchants.CreateParams{Name: "a", Settings: merchants.Settings{OrderTTL: 1}}},
		{"negative rate", "rate_limit", merchants.CreateParams{Name: "a", Settings: merchants.Settings{RateLimit: -1}}},
		{"xprv", "erc20_xpub", merchants.CreateParams{Name: "a", XPubs: map[checkout.Network]string{checkout.ERC20: "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := merchants.Create(ctx, st, c.p)
			var inv *merchants.InvalidError
			if !errors.As(err, &inv) || inv.Param != c.param {
				t.Errorf("Create: %v, want an *InvalidError about %s", err, c.param)
			}
		})
	}
	if list, err := merchants.List(ctx, st); err != nil || len(list) != 0 {
		t.Errorf("refused merchants were stored: %v %v", list, err)
	}
	if _, err := merchants.Show(ctx, st, "mch_nope"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("Show of an unknown merchant: %v, want checkout.ErrNotFound", err)
	}
	if _, err := merchants.Block(ctx, st, "TRC20", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"); err == nil {
		t.Error("an Ethereum address was accepted on the TRC20 blocklist")
	}
}

// TestLifecycle: create, view (no secrets), rotate a key with the old one revoked, refuse to
// revoke another merchant's key, set an xpub another merchant holds.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	x1, _ := deposit.DevAccountXPub(checkout.ERC20, 910)
	a, err := merchants.Create(ctx, st, merchants.CreateParams{Name: "a", XPubs: map[checkout.Network]string{checkout.ERC20: x1},
		Settings: merchants.Settings{WebhookURL: "https://a.example/h", ReturnHosts: []string{"a.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := merchants.Create(ctx, st, merchants.CreateParams{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := merchants.SetXPub(ctx, st, b.MerchantID, "ERC20", x1); !errors.Is(err, store.ErrXPubInUse) {
		t.Errorf("b took a's xpub: %v", err)
	}
	v, err := merchants.Show(ctx, st, a.MerchantID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v)
	if strings.Contains(string(raw), a.Secret) || strings.Contains(string(raw), a.WebhookSecret) || v.OrderTTL != "30m0s" {
		t.Errorf("view: %s", raw)
	}
	if _, err := merchants.RotateKey(ctx, st, a.MerchantID, b.KeyID); !errors.Is(err, merchants.ErrKeyOfAnotherMerchant) {
		t.Errorf("a revoked b's key: %v", err)
	}
	r, err := merchants.RotateKey(ctx, st, a.MerchantID, a.KeyID)
	if err != nil || r.RevokedKeyID != a.KeyID || r.Secret == a.Secret {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	v, _ = merchants.Show(ctx, st, a.MerchantID)
	revoked := 0
	for _, k := range v.Keys {
		if k.RevokedAt != nil {
			revoked++
		}
	}
	if len(v.Keys) != 2 || revoked != 1 { // the first (revoked) and the rotated one: the refused rotation stored nothing
		t.Errorf("keys: %+v", v.Keys)
	}
}

// TestConcurrentChangesAreKept: changes made at the same time (two operators, the dashboard
// and the command line) each land; none is undone by another's stale copy of the merchant.
// A rotated webhook secret in particular is never brought back by a settings save.
func TestConcurrentChangesAreKept(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	c, err := merchants.Create(ctx, st, merchants.CreateParams{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	hosts := make([]string, n)
	errs := make(chan error, n+1)
	var secret string
	var wg sync.WaitGroup
	for i := range n {
		hosts[i] = "shop" + strconv.Itoa(i) + ".example"
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := merchants.Set(ctx, st, merchants.SetParams{ID: c.MerchantID, Settings: merchants.Settings{ReturnHosts: []string{hosts[i]}}})
			errs <- err
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r, err := merchants.RotateWebhookSecret(ctx, st, c.MerchantID)
		if err == nil {
			secret = r.WebhookSecret
		}
		errs <- err
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := st.Merchant(ctx, c.MerchantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if !slices.Contains(m.ReturnHosts, h) {
			t.Errorf("return host %s was lost: stored %v", h, m.ReturnHosts)
		}
	}
	if m.WebhookSecret != secret || m.WebhookSecretPrev != c.WebhookSecret {
		t.Errorf("webhook secret after a concurrent rotation: %q (previous %q), want the rotated one", m.WebhookSecret, m.WebhookSecretPrev)
	}
}
