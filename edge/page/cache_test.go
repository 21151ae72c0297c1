package page

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	checkout "github.com/mpchat/checkout"
)

// Loads of an unchanged order within the same second render and compress once; a change of
// the order or of the second renders again.
func TestPayPageCached(t *testing.T) {
	o, m := testOrder(), testMerchant()
	h := newHandler(t, Config{}, o, m)
	now := o.CreatedAt.Add(time.Minute)
	h.cfg.Now = func() time.Time { return now }

	first := get(h, "/pay/"+orderID, "Accept-Encoding", "br")
	second := get(h, "/pay/"+orderID, "Accept-Encoding", "br")
	if h.cache.renders.Load() != 1 || h.cache.compressions.Load() != 1 {
		t.Fatalf("two loads: %d renders, %d compressions; want 1 and 1", h.cache.renders.Load(), h.cache.compressions.Load())
	}
	if !bytes.Equal(first.Response.Body(), second.Response.Body()) || string(second.Response.Header.Peek("Content-Encoding")) != "br" {
		t.Error("the cached page differs from the first")
	}
	plain := get(h, "/pay/"+orderID)
	got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(second.Response.Body())))
	if err != nil || !bytes.Equal(got, plain.Response.Body()) || h.cache.renders.Load() != 1 {
		t.Errorf("uncompressed copy differs or re-rendered (%d renders, err %v)", h.cache.renders.Load(), err)
	}
	// Another language or embedding is another page.
	get(h, "/pay/"+orderID+"?lang=zh")
	if h.cache.renders.Load() != 2 {
		t.Errorf("another language: %d renders", h.cache.renders.Load())
	}

	// The order changes: rendered again, showing the new status.
	o.Status, o.AmountPaid = checkout.StatusPaid, o.PayAmount
	paid := get(h, "/pay/"+orderID)
	if h.cache.renders.Load() != 3 || !bytes.Contains(paid.Response.Body(), []byte(`data-status="PAID"`)) {
		t.Errorf("status change: %d renders, page shows PAID: %v", h.cache.renders.Load(), bytes.Contains(paid.Response.Body(), []byte(`data-status="PAID"`)))
	}
	get(h, "/pay/"+orderID)
	if h.cache.renders.Load() != 3 {
		t.Errorf("unchanged paid order rendered again: %d", h.cache.renders.Load())
	}

	// The page embeds the time (countdown, clock offset): the next second is a new page.
	o.Status, o.AmountPaid = checkout.StatusPending, 0
	get(h, "/pay/"+orderID)
	before := h.cache.renders.Load()
	now = now.Add(1500 * time.Millisecond)
	later := string(get(h, "/pay/"+orderID).Response.Body())
	if h.cache.renders.Load() != before+1 {
		t.Errorf("a later second served the earlier page")
	}
	// Time rounds up to the whole second: the countdown never shows more time than is left.
	if !bytes.Contains([]byte(later), []byte(">28:58<")) || !bytes.Contains([]byte(later), []byte(`"now":"2026-11-24T10:01:02Z"`)) {
		t.Errorf("countdown after 61.5 s: want 28:58 and now 10:01:02")
	}
}

func TestPayPageCacheConcurrent(t *testing.T) {
	o, m := testOrder(), testMerchant()
	h := newHandler(t, Config{}, o, m)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c := get(h, "/pay/"+orderID, "Accept-Encoding", "gzip"); c.Response.StatusCode() != 200 {
				t.Errorf("status %d", c.Response.StatusCode())
			}
		}()
	}
	wg.Wait()
	if h.cache.renders.Load() != 1 || h.cache.compressions.Load() != 1 {
		t.Errorf("16 concurrent loads: %d renders, %d compressions", h.cache.renders.Load(), h.cache.compressions.Load())
	}
}

// The cache holds at most its byte bound, however many orders are loaded.
func TestPayPageCacheBounded(t *testing.T) {
	o, m := testOrder(), testMerchant()
	h := newHandler(t, Config{PageCacheBytes: 200 << 10}, o, m)
	for i := 0; i < 60; i++ {
		o.Description = "order " + strconv.Itoa(i)
		get(h, "/pay/"+orderID, "Accept-Encoding", "br")
		get(h, "/pay/"+orderID, "Accept-Encoding", "gzip")
		if b := h.cache.size(); b > 200<<10 {
			t.Fatalf("cache holds %d bytes, bound %d", b, 200<<10)
		}
	}
	if h.cache.len() == 0 || h.cache.len() >= 60 {
		t.Errorf("%d entries after 60 pages", h.cache.len())
	}
}
