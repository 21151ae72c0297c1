package outbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client/webhook"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// TestTransferNoticeDelivered: a merchant-level transfer.unmatched event, queued twice for one
// transfer, is delivered once to the merchant's webhook URL, signed like every webhook, with
// the transfer and no order in its body; a failed attempt is retried with the same bytes.
func TestTransferNoticeDelivered(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return 503
		}
		return 200
	})
	f := newFixture(t, rc.srv.URL+"/hooks")
	r := &checkout.ReceivedTransfer{Status: checkout.TransferUnmatched, Network: checkout.TRC20,
		Address: "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC", TxHash: "0x" + string(bytes.Repeat([]byte("ab"), 32)), LogIndex: 3,
		From: "TXYZ", Amount: 10_500_000, BlockNumber: 77, Confirmations: 1, Kind: checkout.TransferSeen, FirstSeenAt: t0}
	first := ids.Event()
	for i, want := range []bool{true, false} {
		evt := first
		if i > 0 {
			evt = ids.Event() // a second queueing (another observation) with an event id of its own
		}
		queued, err := f.st.QueueTransferNotice(f.ctx, f.m.ID, checkout.EventTransferUnmatched, r, evt, f.clock.Now())
		if err != nil || queued != want {
			t.Fatalf("queue %d: queued %v err %v, want %v", i, queued, err, want)
		}
	}
	d := f.dispatcher()
	if n := f.rounds(d); n != 1 || rc.count() != 1 {
		t.Fatalf("first round: %d due, %d requests", n, rc.count())
	}
	f.clock.Add(time.Hour) // past the first retry
	if n := f.rounds(d); n != 1 || rc.count() != 2 {
		t.Fatalf("retry round: %d due, %d requests", n, rc.count())
	}
	if n := f.rounds(d); n != 0 || rc.count() != 2 {
		t.Fatalf("after delivery: %d due, %d requests", n, rc.count())
	}
	got1, second := rc.got[0], rc.got[1]
	if !bytes.Equal(got1.body, second.body) || got1.header.Get("MP-Event-Id") != first || second.header.Get("MP-Event-Id") != first {
		t.Fatalf("retry differs:\n%s\n%s", got1.body, second.body)
	}
	if err := webhook.Verify(second.body, second.header.Get(webhook.Header), f.m.WebhookSecret, 0, f.clock.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if typ := second.header.Get("MP-Event-Type"); typ != string(checkout.EventTransferUnmatched) {
		t.Fatalf("MP-Event-Type %q", typ)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(second.body, &raw); err != nil {
		t.Fatal(err)
	}
	var data map[string]json.RawMessage
	_ = json.Unmarshal(raw["data"], &data)
	if _, ok := data["order"]; ok || data["transfer"] == nil {
		t.Fatalf("body: %s", second.body)
	}
	ev, err := webhook.ConstructEvent(second.body, webhook.Sign(second.body, time.Now(), f.m.WebhookSecret), f.m.WebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != checkout.EventTransferUnmatched || ev.Data.Transfer == nil || ev.Data.Transfer.TxHash != r.TxHash ||
		ev.Data.Transfer.Amount != r.Amount || ev.Data.Transfer.LogIndex != 3 || ev.ID != first {
		t.Fatalf("decoded: %+v", ev)
	}
	ds, err := f.st.NoticeDeliveries(f.ctx, store.TransferNoticeID(checkout.EventTransferUnmatched, r.Network, r.TxHash, r.LogIndex))
	if err != nil || len(ds) != 1 || ds[0].Status != checkout.DeliveryDelivered || ds[0].Attempts != 2 || len(ds[0].AttemptLog) != 2 {
		t.Fatalf("delivery record: %+v %v", ds, err)
	}
}

// TestTransferNoticeNoURL: with no merchant webhook URL the notice is skipped, like an order's.
func TestTransferNoticeNoURL(t *testing.T) {
	f := newFixture(t, "")
	r := &checkout.ReceivedTransfer{Status: checkout.TransferUnmatched, Network: checkout.ERC20, Address: "0x0000000000000000000000000000000000000001",
		TxHash: "0x" + string(bytes.Repeat([]byte("cd"), 32)), Amount: 1, Kind: checkout.TransferSeen, FirstSeenAt: t0}
	if _, err := f.st.QueueTransferNotice(f.ctx, f.m.ID, checkout.EventTransferUnmatched, r, ids.Event(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.rounds(f.dispatcher())
	ds, err := f.st.NoticeDeliveries(f.ctx, store.TransferNoticeID(checkout.EventTransferUnmatched, r.Network, r.TxHash, r.LogIndex))
	if err != nil || len(ds) != 1 || ds[0].Status != checkout.DeliverySkipped {
		t.Fatalf("delivery: %+v %v", ds, err)
	}
}
