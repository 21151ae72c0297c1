package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// The examples run against a real edge (its own redis-server, as `edge serve` wires the API
// and event streams) with one merchant; these are its URL and API key.
var edgeURL, keyID, secret string

// The example edge's Redis side, for tests that play the watcher (feed entries) and run
// settlement.
var (
	edgeRedis  *redis.Client
	edgeStore  *store.Store
	edgePrefix string
)

func TestMain(m *testing.M) {
	stop, err := startEdge()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the example edge:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startEdge() (stop func(), err error) {
	srv, err := redistest.Start()
	if err != nil {
		return nil, err
	}
	var undo []func()
	stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		srv.Stop()
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	undo = append(undo, func() { rdb.Close() })
	prefix := redistest.Prefix()
	st := store.New(rdb, prefix)
	edgeRedis, edgeStore, edgePrefix = rdb, st, prefix

	// A merchant with a development xpub for ERC20 and an API key.
	xpub, err := deposit.DevAccountXPub(checkout.ERC20, 7)
	if err != nil {
		return nil, err
	}
	k, err := deposit.ParseAccountXPub(xpub)
	if err != nil {
		return nil, err
	}
	mer := &checkout.Merchant{ID: ids.Merchant(), Name: "example", XPubs: map[checkout.Network]string{checkout.ERC20: xpub},
		WebhookSecret: "whsec_example", CreatedAt: time.Now().UTC()}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: mer.ID, Secret: "sk_" + ids.Key(), CreatedAt: time.Now().UTC()}
	if err := st.CreateMerchant(ctx, mer, key, []string{k.Fingerprint()}); err != nil {
		return nil, err
	}

	feedRedis := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 1})
	undo = append(undo, func() { feedRedis.Close() })
	quiet := slog.New(slog.DiscardHandler)
	changeFeed := changes.New(store.NewChangeReader(feedRedis, prefix), quiet)
	s := &api.Server{Store: st, Orders: &orders.Service{Store: st, PublicURL: "https://pay.example.com"},
		Auth: &auth.Verifier{Keys: st}, Changes: changeFeed, Log: quiet}
	hctx, cancel := context.WithCancel(ctx)
	feedDone := make(chan struct{})
	go func() { defer close(feedDone); _ = changeFeed.Run(hctx) }()
	undo = append(undo, func() {
		cancel() // streams end when the change feed stops
		<-feedDone
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		_ = s.WaitStreams(wctx)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &fasthttp.Server{Handler: s.Handler(), KeepHijackedConns: true}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(ln) }()
	undo = append(undo, func() { _ = hs.Shutdown(); <-served })
	edgeURL, keyID, secret = "http://"+ln.Addr().String(), key.ID, key.Secret
	return stop, nil
}
