package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/feed"
)

// TestEveryKeyUnderPrefix runs orders through their whole life on a Redis of their own, the
// way the edge and the watcher drive the store and the feed, then lists every key left on
// that server: each must start with the deployment's prefix, the shared xpub registry (and
// dev-account counter) under the shared prefix being the only exception.
//
// One order is created with an idempotency key and replayed, seen and confirmed through the
// watcher's feed and the settlement consumer, has its payment.detected and payment.confirmed
// webhooks delivered, and leaves the expiry schedule; another expires unpaid. Along the way
// the API's rate buckets and replay marks, the operator's blocklist and the orphans record
// are written too.
func TestEveryKeyUnderPrefix(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rdb := srv.Client(t)
	ctx := context.Background()
	const prefix, shared = "dep1:", "mp-shared-test:"
	st := store.New(rdb, prefix).WithSharedPrefix(shared)
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }

	// A merchant with a dev xpub (the shared registry and dev-account counter) and an API key.
	account, err := st.NextDevAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	xpub, err := deposit.DevAccountXPub(checkout.ERC20, account)
	if err != nil {
		t.Fatal(err)
	}
	key, err := deposit.ParseAccountXPub(xpub)
	if err != nil {
		t.Fatal(err)
	}
	m := &checkout.Merchant{ID: "mer_audit", XPubs: map[checkout.Network]string{checkout.ERC20: xpub}}
	apiKey := &checkout.APIKey{ID: "key_audit", MerchantID: m.ID}
	if err := st.CreateMerchant(ctx, m, apiKey, []string{key.Fingerprint()}); err != nil {
		t.Fatal(err)
	}

	// The API: a request's rate bucket, a failed authentication's, a public lookup's, and the
	// replay mark of a signed create.
	for _, b := range []string{"key:{key_audit}", "authfail-ip:{192.0.2.1}", "lookup:{192.0.2.1}"} {
		// A slow refill: a bucket's key lives until it is full again, and the listing below
		// must still find it on a loaded machine.
		if _, _, err := st.Allow(ctx, b, store.Limit{Burst: 10, Every: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := st.FirstUse(ctx, apiKey.ID, "sig-1", 10*time.Minute); err != nil || !ok {
		t.Fatalf("replay mark: %v %v", ok, err)
	}

	// Create with an idempotency key, and its replay.
	mkOrder := func(idem, id string, ttl time.Duration) *checkout.Order {
		t.Helper()
		c, err := st.ClaimOrder(ctx, m.ID, key.Fingerprint(), idem, id, "hash", now)
		if err != nil {
			t.Fatal(err)
		}
		addr, path, err := key.Address(checkout.ERC20, c.Index)
		if err != nil {
			t.Fatal(err)
		}
		o := &checkout.Order{ID: c.OrderID, Status: checkout.StatusPending, Amount: 5_000_000, PayAmount: 5_000_000,
			Currency: checkout.Currency, Network: checkout.ERC20, Address: addr, DerivationPath: path,
			TolerancePercent: checkout.DefaultTolerance, Metadata: map[string]string{}, Payments: []checkout.Payment{},
			CreatedAt: now, ExpiresAt: now.Add(ttl)}
		ev := checkout.Event{ID: "evt_created_" + id, Type: checkout.EventOrderCreated, CreatedAt: now, Order: *o}
		stored, _, err := st.CreateOrder(ctx, o, m.ID, &ev)
		if err != nil {
			t.Fatal(err)
		}
		return stored
	}
	paid := mkOrder("idem-1", "ord_auditpaid0000000000000", time.Hour)
	if again := mkOrder("idem-1", "ord_auditreplay00000000000", time.Hour); again.ID != paid.ID {
		t.Fatalf("replay made another order %s", again.ID)
	}
	unpaid := mkOrder("", "ord_auditunpaid00000000000", time.Minute)

	// The watcher reports the transfer seen, then confirmed; the settlement consumer applies
	// each.
	w := feed.New(rdb, prefix, checkout.ERC20)
	w.SetRetention(0) // trim what is acknowledged at once: the feed's keys still remain
	if ok, err := w.Acquire(ctx, time.Minute); err != nil || !ok {
		t.Fatalf("lease %v %v", ok, err)
	}
	consumer := &settlement.Consumer{Store: st, Network: checkout.ERC20, Now: clock, Block: time.Millisecond}
	if err := st.EnsureFeedGroup(ctx, checkout.ERC20, settlement.DefaultGroup); err != nil {
		t.Fatal(err)
	}
	tr := checkout.Transfer{Kind: checkout.TransferSeen, Network: checkout.ERC20, TxHash: "0x" + strings.Repeat("ab", 32),
		BlockNumber: 100, BlockHash: "0x" + strings.Repeat("cd", 32), From: paid.Address, To: paid.Address,
		Amount: paid.PayAmount, Confirmations: 1, Required: 3, ObservedAt: now}
	apply := func(s *feed.Step, want checkout.Status) {
		t.Helper()
		if err := w.Commit(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := consumer.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if r, err := st.Order(ctx, paid.ID); err != nil || r.Order.Status != want {
			t.Fatalf("order after the feed step: %+v %v, want %s", r, err, want)
		}
	}
	seen := tr
	apply(&feed.Step{Emit: []checkout.Transfer{seen}, Upsert: map[string]checkout.Transfer{seen.Key(): seen}, Checkpoint: 97}, checkout.StatusConfirming)
	confirmed := tr
	confirmed.Kind, confirmed.Confirmations = checkout.TransferConfirmed, 3
	apply(&feed.Step{Emit: []checkout.Transfer{confirmed}, Delete: []string{seen.Key()}, Checkpoint: 102}, checkout.StatusPaid)
	if err := w.Anomaly(ctx, "value beyond int64", map[string]any{"tx": tr.TxHash}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStatus(ctx, &feed.Status{Head: 104, At: now, Checkpoint: 102, EndpointsHealthy: 1, EndpointsTotal: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordOrphan(ctx, checkout.ERC20, "0-1", "no order", tr); err != nil {
		t.Fatal(err)
	}
	if err := st.Block(ctx, checkout.ERC20, "0xblocked"); err != nil {
		t.Fatal(err)
	}

	// The expiry worker: the paid order leaves the schedule, the unpaid one expires.
	now = now.Add(2 * time.Hour)
	ew := &expiry.Worker{Store: st, Now: clock}
	if _, err := ew.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := st.Order(ctx, unpaid.ID); r.Order.Status != checkout.StatusExpired {
		t.Fatalf("unpaid order %s after expiry", r.Order.Status)
	}

	// The dispatcher delivers every webhook (as edge/outbox does through the store).
	claims, err := st.ClaimDueWebhooks(ctx, now, time.Minute, 10)
	if err != nil || len(claims) != 2 {
		t.Fatalf("webhook claims %+v %v", claims, err)
	}
	for _, c := range claims {
		_, ds, err := st.PendingWebhooks(ctx, c.OrderID)
		if err != nil || len(ds) == 0 {
			t.Fatalf("pending webhooks of %s: %+v %v", c.OrderID, ds, err)
		}
		for i := range ds {
			d := &ds[i]
			at := now
			d.Status, d.Attempts, d.DeliveredAt, d.LastStatusCode = checkout.DeliveryDelivered, 1, &at, 200
			if err := st.SaveDelivery(ctx, c.OrderID, d, &checkout.WebhookAttempt{At: at, URL: "https://shop.example/hook", StatusCode: 200}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.FinishClaim(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.WebhookBacklog(ctx); err != nil || n != 0 {
		t.Fatalf("webhook backlog %d %v", n, err)
	}

	// The dashboard: a user with a password and TOTP, a set-password link, a session, the
	// audit log and a sign-in rate bucket.
	u := &store.User{ID: "usr_audit", Email: "ops@audit.example", MerchantID: m.ID, CreatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePasswordToken(ctx, store.HashSecret("token"), u.ID, now.Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTOTP(ctx, u.ID, "SECRET", 1); err != nil {
		t.Fatal(err)
	}
	sess := &store.Session{Hash: store.HashSecret("session"), UserID: u.ID, Created: now, Seen: now, CSRF: "c"}
	if err := st.CreateSession(ctx, sess, now.Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendAudit(ctx, m.ID, store.AuditEntry{At: now, Actor: u.Email, Action: "login.succeeded"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Allow(ctx, "login-ip:{192.0.2.1}", store.PerSecond(10)); err != nil {
		t.Fatal(err)
	}

	// Every key on this server.
	keys, err := rdb.Keys(ctx, "*").Result() // a server of this test's own: nothing else lives here
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	var report strings.Builder
	for _, k := range keys {
		ttl := rdb.TTL(ctx, k).Val()
		fmt.Fprintf(&report, "\n  %-70s %-6s ttl %s", k, rdb.Type(ctx, k).Val(), ttl)
		switch {
		case strings.HasPrefix(k, prefix):
		case strings.HasPrefix(k, shared+"xpub-owner:{"), k == shared+"dev-accounts":
			// The documented exception: unique across every deployment on this Redis.
		default:
			t.Errorf("key %q is outside the prefix %q", k, prefix)
		}
	}
	t.Logf("%d keys:%s", len(keys), report.String())
	// The families this life must have left, so the listing above really saw them.
	for _, want := range []string{
		prefix + "merchant:{m:mer_audit}:idem:idem-1", prefix + "order:{" + paid.ID + "}",
		prefix + "watcher:{ERC20}:lease", prefix + "watcher:{ERC20}:checkpoint", prefix + "watcher:{ERC20}:status", prefix + "feed:{ERC20}",
		prefix + "changes", prefix + "rate:key:{key_audit}", prefix + "replay:{key_audit}:sig-1",
		shared + "xpub-owner:{" + key.Fingerprint() + "}",
		prefix + "users", prefix + "user:{u:usr_audit}", prefix + "user:{u:usr_audit}:sessions",
		prefix + "session:{s:" + store.HashSecret("session") + "}", prefix + "pwtoken:{t:" + store.HashSecret("token") + "}",
		prefix + "merchant:{m:mer_audit}:audit", prefix + "rate:login-ip:{192.0.2.1}",
		prefix + "user-email:{e:" + store.HashSecret("ops@audit.example") + "}",
	} {
		if i := sort.SearchStrings(keys, want); i == len(keys) || keys[i] != want {
			t.Errorf("expected key %q was not written", want)
		}
	}
}
