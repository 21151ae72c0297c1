package api_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/clientip"
)

// tronAddress is a fresh random TRON address.
func tronAddress() string {
	var a [20]byte
	_, _ = rand.Read(a[:])
	return deposit.EncodeTRON(a)
}

// addressesMerchant is a merchant whose TRC20 orders go to its own addresses.
func (e *testEdge) addressesMerchant(maxOffset checkout.Amount, addrs ...string) *merchant {
	e.t.Helper()
	mc := e.newMerchant(both, nil)
	cfg := checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: addrs, MaxOffset: maxOffset}
	if err := e.store.SetReceive(context.Background(), mc.m, checkout.TRC20, cfg); err != nil {
		e.t.Fatal(err)
	}
	return mc
}

func TestAddressesModeCreate(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	addr := tronAddress()
	mc := e.addressesMerchant(0, addr)
	ctx := context.Background()
	want := []string{"10", "10.000001", "10.000002"}
	for i, w := range want {
		o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.TRC20,
			IdempotencyKey: "k" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		if o.Address != addr || o.PayAmount.String() != w || o.Amount.String() != "10" || o.DerivationPath != "" {
			t.Fatalf("order %d: address %s pay_amount %s amount %s path %q", i, o.Address, o.PayAmount, o.Amount, o.DerivationPath)
		}
	}
	// A replay is the same reservation.
	o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.TRC20, IdempotencyKey: "kb"})
	if err != nil || o.PayAmount.String() != "10.000001" {
		t.Fatalf("replay: %v %v", o, err)
	}
	// ERC20 stays in xpub mode: a derived address.
	o, err = mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.ERC20})
	if err != nil || o.DerivationPath == "" || o.PayAmount.String() != "10" {
		t.Fatalf("xpub mode: %+v %v", o, err)
	}
}

func TestAddressesModeSpreadsAndExhausts(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	a1, a2 := tronAddress(), tronAddress()
	mc := e.addressesMerchant(1, a1, a2) // two pairs per address at one amount
	ctx := context.Background()
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "5", Network: checkout.TRC20})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			pair := o.Address + "/" + o.PayAmount.String()
			if seen[pair] {
				t.Errorf("pair %s handed out twice", pair)
			}
			seen[pair] = true
		}()
	}
	wg.Wait()
	if len(seen) != 4 {
		t.Fatalf("pairs: %v", seen)
	}
	before := e.keys()
	_, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "5", Network: checkout.TRC20, IdempotencyKey: "full"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.HTTPStatus != 409 || ce.Code != checkout.CodePayAmountsExhausted {
		t.Fatalf("full: %v", err)
	}
	if after := e.keys(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("a refused create stored something:\nbefore %v\nafter  %v", before, after)
	}
	// Another amount still has room.
	if _, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "5.5", Network: checkout.TRC20}); err != nil {
		t.Fatal(err)
	}
}

// TestClaimUnmatchedTransfer: an overpayment matches no pair, is listed as unmatched, and is
// credited to the order that claims it, once; another order's claim of it is refused.
func TestClaimUnmatchedTransfer(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	addr := tronAddress()
	mc := e.addressesMerchant(0, addr)
	ctx := context.Background()
	a, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.TRC20})
	if err != nil {
		t.Fatal(err)
	}
	b, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.TRC20})
	if err != nil {
		t.Fatal(err)
	}
	tx := "0x" + strings.Repeat("ab", 32)
	tr := &checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20, TxHash: tx, To: addr,
		From: tronAddress(), Amount: 10_500_000, Confirmations: 19, Required: 19}
	m, err := e.store.MatchTransfer(ctx, "9999999999999-0", tr, false, e.clock.Now().Add(time.Second))
	if err != nil || m.State != "unmatched" {
		t.Fatalf("match: %+v %v", m, err)
	}
	if err := e.store.IndexUnmatched(ctx, mc.m.ID, tr, m.FirstSeen); err != nil {
		t.Fatal(err)
	}
	status, _, body := mc.raw(t, "GET", "/v1/transfers?status=unmatched", "")
	if data, _ := body["data"].([]any); status != 200 || len(data) != 1 {
		t.Fatalf("list: %d %v", status, body)
	}
	status, _, body = mc.raw(t, "POST", "/v1/orders/"+a.ID+"/claim", `{"tx_hash":"`+tx+`"}`)
	if status != 200 || body["status"] != "PAID" || body["amount_overpaid"] != "0.50" && body["amount_overpaid"] != "0.5" {
		t.Fatalf("claim: %d %v", status, body)
	}
	status, _, body = mc.raw(t, "POST", "/v1/orders/"+b.ID+"/claim", `{"tx_hash":"`+tx+`"}`)
	if status != 409 || errorOf(t, body)["code"] != string(checkout.CodeTransferCredited) {
		t.Fatalf("second order's claim: %d %v", status, body)
	}
	status, _, body = mc.raw(t, "GET", "/v1/transfers?status=unmatched", "")
	if data, _ := body["data"].([]any); status != 200 || len(data) != 0 {
		t.Fatalf("list after claim: %d %v", status, body)
	}
	status, _, body = mc.raw(t, "POST", "/v1/orders/"+b.ID+"/claim", `{"tx_hash":"0x12"}`)
	if status != 422 || errorOf(t, body)["code"] != string(checkout.CodeClaimRefused) {
		t.Fatalf("bad hash: %d %v", status, body)
	}
}

// TestPublicClaimRateLimited: the checkout's claim endpoint is bounded per client (burst 10)
// and per order (burst 10): past either, 429 with Retry-After and nothing recorded on the
// order; another client's claims for another order still go through.
func TestPublicClaimRateLimited(t *testing.T) {
	proxies, err := clientip.Parse("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e := newEdge(t, edgeOpts{server: func(s *api.Server) { s.ClientIP = proxies }})
	mc := e.addressesMerchant(0, tronAddress())
	ctx := context.Background()
	a, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.TRC20})
	if err != nil {
		t.Fatal(err)
	}
	b, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.TRC20})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(from, id string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.url+"/v1/checkout/"+id+"/claim",
			strings.NewReader(`{"tx_hash":"0x`+strings.Repeat("9", 64)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	burst := api.DefaultClaimClientLimit.Burst
	for i := range burst {
		if code, _ := claim("203.0.113.1", a.ID); code != 422 { // never seen: refused, but counted
			t.Fatalf("claim %d: %d", i, code)
		}
	}
	code, retry := claim("203.0.113.1", a.ID)
	if n, _ := strconv.Atoi(retry); code != 429 || n < 1 || n > int(api.DefaultClaimClientLimit.Every/time.Second) {
		t.Fatalf("client past its burst: %d Retry-After %q", code, retry)
	}
	// The order has had its burst of claims too: another client is refused on it ...
	if code, retry := claim("203.0.113.2", a.ID); code != 429 || retry == "" {
		t.Fatalf("order past its burst: %d Retry-After %q", code, retry)
	}
	// ... but not on another order.
	if code, _ := claim("203.0.113.2", b.ID); code != 422 {
		t.Fatalf("another client, another order: %d", code)
	}
	evs, err := e.store.OrderEvents(ctx, a.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, ev := range evs {
		if ev.Type == checkout.EventClaimRefused {
			refused++
		}
	}
	if refused != burst {
		t.Fatalf("%d claim.refused events on the order, want %d (a throttled claim records nothing)", refused, burst)
	}
}
