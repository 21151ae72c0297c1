package dashboard

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/app/ssr"
	"github.com/mpchat/checkout/edge/listquery"
)

// Live updates of the order list. The change feed's entries name an order but not its
// merchant, so following it for one merchant would cost a Redis read per change of every
// merchant in every edge process. Instead the first page's rows are fetched again, while the
// tab is visible, every liveEvery: one listing (O(log N + page) however many orders there
// are) per open tab. The page works without the script: it is the same page, reloaded.
//
// liveJS is inlined and allowed by its hash (liveCSP). It keeps one request in flight, stops
// for good when the session is over (the answer is a redirect to sign-in) and shows the live
// note only once a refresh succeeded.
const liveJS = `(function(){` +
	`var b=document.getElementById("orders-rows"),u=b&&b.getAttribute("data-live"),n=document.getElementById("live"),busy=false,stop=false;` +
	`if(!u)return;` +
	`function tick(){if(busy||stop||document.visibilityState!=="visible")return;busy=true;` +
	`fetch(u,{credentials:"same-origin",cache:"no-store",redirect:"manual"}).then(function(r){` +
	`if(r.type==="opaqueredirect"||r.status===401||r.status===403||r.status===404){stop=true;throw 0}` +
	`if(!r.ok)throw 0;return r.text()}).then(function(h){if(h!==b.innerHTML)b.innerHTML=h;if(n)n.hidden=false})` +
	`.catch(function(){}).then(function(){busy=false})}` +
	`setInterval(tick,` + liveEveryMS + `);document.addEventListener("visibilitychange",tick)})();`

// liveEveryMS is how often a visible list refreshes its first page, in milliseconds.
const liveEveryMS = "4000"

// liveCSP extends the dashboard's policy on a live list: its one inline script, and fetches
// to this origin.
var liveCSP = func() string {
	sum := sha256.Sum256([]byte(liveJS))
	return "; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; connect-src 'self'"
}()

// maxLiveRequests bounds the live refreshes one session has in flight at once (each tab's
// script keeps one): more tabs than that get 429 until one finishes, so a session cannot
// make the edge list its orders without bound.
const maxLiveRequests = 4

// liveSlots counts each session's refreshes in flight, by session hash.
var liveSlots = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func takeLiveSlot(session string) bool {
	liveSlots.Lock()
	defer liveSlots.Unlock()
	if liveSlots.n[session] >= maxLiveRequests {
		return false
	}
	liveSlots.n[session]++
	return true
}

func releaseLiveSlot(session string) {
	liveSlots.Lock()
	defer liveSlots.Unlock()
	if liveSlots.n[session]--; liveSlots.n[session] <= 0 {
		delete(liveSlots.n, session)
	}
}

// orderRows answers the live refresh: the first page's rows as HTML (the page's filters,
// never a cursor or a lookup).
func (h *Handler) orderRows(r *request, m *checkout.Merchant) error {
	if m == nil {
		h.notFound(r)
		return nil
	}
	args := r.ctx.QueryArgs()
	q, err := listquery.Parse(args, orderListOptions)
	if err != nil || q.After != "" || q.Before != "" || len(args.Peek(paramLookup)) > 0 {
		r.ctx.SetStatusCode(fasthttp.StatusBadRequest)
		r.ctx.SetContentType("text/plain; charset=utf-8")
		r.ctx.SetBodyString("bad live query\n")
		return nil
	}
	if !takeLiveSlot(r.cur.Session.Hash) {
		retryAfter(r.ctx, 4e9)
		r.ctx.SetStatusCode(fasthttp.StatusTooManyRequests)
		return nil
	}
	defer releaseLiveSlot(r.cur.Session.Hash)
	page, err := h.cfg.Store.ListOrders(r.ctx, m.ID, q)
	if err != nil {
		return err
	}
	v := &ordersView{merchant: m, records: page.Records, page: page, query: q}
	var b strings.Builder
	for _, row := range orderRows(r, v) {
		if err := ssr.Write(&b, row); err != nil {
			return err
		}
	}
	r.ctx.SetContentType("text/html; charset=utf-8")
	r.ctx.SetBodyString(b.String())
	return nil
}
