package widget

import (
	"encoding/json"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
)

// Event is the part of a public event-stream message the checkout reads
// (GET /v1/checkout/{id}/events; see docs/api.md, "Event streams").
type Event struct {
	OrderID string                 `json:"order_id"`
	Status  checkout.Status        `json:"status"`
	Order   *checkout.CheckoutView `json:"order"`
}

// Message is what the checkout posts to a host page that frames it, at the merchant's allowed
// origins only: type "loaded" (the wasm runs), "status" (the order's status changed; with the
// return URL when terminal), "resize" (the content's height) and "closed" (the customer closed
// a modal checkout).
type Message struct {
	Source    string          `json:"source"` // always "mp-checkout"
	Type      string          `json:"type"`
	OrderID   string          `json:"order_id"`
	Status    checkout.Status `json:"status,omitempty"`
	Height    int             `json:"height,omitempty"`
	ReturnURL string          `json:"return_url,omitempty"`
	// ReturnDelayMS is when the checkout's visible pause ends: embed.js navigates the top
	// window then. Absent, no automatic return is due (an unhappy status, or the customer
	// chose to stay): embed.js cancels any it planned.
	ReturnDelayMS *int64 `json:"return_delay_ms,omitempty"`
}

// fallbackEvery is how often the order is read directly while the stream is not open.
const fallbackEvery = 5 * time.Second

// liveConn follows the order in the browser: an EventSource on the public stream (it
// reconnects and resumes with Last-Event-ID by itself), a direct read of the order while the
// stream is down or after the browser gave up on it, and the host page's messages.
type liveConn struct {
	c       *Checkout
	ctx     app.Context
	es      app.Value
	funcs   []app.Func
	stopped bool
	undo    []func()
}

func startLive(ctx app.Context, c *Checkout) *liveConn {
	l := &liveConn{c: c, ctx: ctx}
	if !c.State.Order.Status.Terminal() {
		if !l.takeOver() {
			l.open()
		}
		ctx.Async(l.fallback)
	}
	l.listenHost()
	l.post("loaded")
	l.post("status")
	return l
}

func (l *liveConn) fn(f func(this app.Value, args []app.Value) any) app.Func {
	jf := app.FuncOf(f)
	l.funcs = append(l.funcs, jf)
	return jf
}

// takeOver adopts the stream the page's small live script (public/web/live.js) opened before
// the wasm ran, so the page never holds two: the script stops handling it, and its newest
// view of the order is applied. It reports false when there is no open stream to adopt.
func (l *liveConn) takeOver() (ok bool) {
	safely(func() {
		lv := app.Window().Get("mpLive")
		if !lv.Truthy() {
			return
		}
		if stop := lv.Get("stop"); stop.Truthy() {
			lv.Call("stop")
		}
		if last := lv.Get("last"); last.Truthy() {
			var v checkout.CheckoutView
			if json.Unmarshal([]byte(app.Window().Get("JSON").Call("stringify", last).String()), &v) == nil {
				l.c.apply(v)
			}
		}
		es := lv.Get("es")
		if !es.Truthy() || es.Get("readyState").Int() == 2 {
			return
		}
		l.handle(es)
		l.c.live = es.Get("readyState").Int() == 1
		ok = true
	})
	return ok
}

// open starts an EventSource. Messages update the order; the browser retries a dropped stream
// itself (readyState CONNECTING); when it gives up (CLOSED: an HTTP error) a new one is
// opened later by the fallback loop.
func (l *liveConn) open() {
	l.handle(app.Window().Get("EventSource").New("/v1/checkout/" + l.c.State.Order.ID + "/events"))
}

// handle follows the EventSource es.
func (l *liveConn) handle(es app.Value) {
	es.Set("onopen", l.fn(func(app.Value, []app.Value) any {
		l.ctx.Dispatch(func(app.Context) { l.c.live = true })
		return nil
	}))
	es.Set("onmessage", l.fn(func(_ app.Value, args []app.Value) any {
		var e Event
		if len(args) == 0 || json.Unmarshal([]byte(args[0].Get("data").String()), &e) != nil || e.Order == nil {
			return nil
		}
		v := *e.Order
		l.ctx.Dispatch(func(app.Context) { l.c.live = true; l.c.apply(v) })
		return nil
	}))
	es.Set("onerror", l.fn(func(app.Value, []app.Value) any {
		l.ctx.Dispatch(func(app.Context) { l.c.live = false })
		return nil
	}))
	l.es = es
}

// fallback reads the order while the stream is not open, and reopens a stream the browser
// has given up on.
func (l *liveConn) fallback() {
	tick := time.NewTicker(fallbackEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-tick.C:
		}
		done := make(chan bool, 1)
		l.ctx.Dispatch(func(app.Context) { done <- l.stopped || l.c.live })
		var skip bool
		select {
		case skip = <-done:
		case <-l.ctx.Done():
			return
		}
		if skip {
			if l.stopped {
				return
			}
			continue
		}
		l.readOrder()
		l.ctx.Dispatch(func(app.Context) {
			if !l.stopped && l.es != nil && l.es.Get("readyState").Int() == 2 {
				l.es.Call("close")
				l.open()
			}
		})
	}
}

// readOrder fetches GET /v1/checkout/{id} with the browser's fetch.
func (l *liveConn) readOrder() {
	p := app.Window().Call("fetch", "/v1/checkout/"+l.c.State.Order.ID, map[string]any{"cache": "no-store"})
	p.Then(func(resp app.Value) {
		if !resp.Truthy() || !resp.Get("ok").Bool() {
			return
		}
		resp.Call("text").Then(func(body app.Value) {
			var v checkout.CheckoutView
			if json.Unmarshal([]byte(body.String()), &v) != nil {
				return
			}
			l.ctx.Dispatch(func(app.Context) { l.c.apply(v) })
		})
	})
}

// stop closes the stream once the order is final (the server closes it too).
func (l *liveConn) stop() {
	if l == nil || l.stopped {
		return
	}
	l.stopped = true
	if l.es != nil {
		l.es.Call("close")
	}
}

func (l *liveConn) close() {
	l.stop()
	for _, u := range l.undo {
		u()
	}
	for _, f := range l.funcs {
		f.Release()
	}
	l.funcs = nil
}

// listenHost answers a framing host page: content-height reports while the content changes
// size, and status on request ({"source":"mp-checkout","type":"ping"}), only to and from the
// merchant's allowed origins, and only from the parent window.
func (l *liveConn) listenHost() {
	if !inFrame() || len(l.c.State.Origins) == 0 {
		return
	}
	w := app.Window()
	onMsg := l.fn(func(_ app.Value, args []app.Value) any {
		if len(args) == 0 {
			return nil
		}
		e := args[0]
		if !e.Get("source").Equal(w.Get("parent")) || !l.c.State.Allowed(e.Get("origin").String()) {
			return nil
		}
		d := e.Get("data")
		if d.Type() != app.TypeObject || d.Get("source").String() != "mp-checkout" || d.Get("type").String() != "ping" {
			return nil
		}
		l.ctx.Dispatch(func(app.Context) { l.post("status") })
		return nil
	})
	w.Call("addEventListener", "message", onMsg)
	l.undo = append(l.undo, func() { w.Call("removeEventListener", "message", onMsg) })

	// A modal's close button and Escape post "closed" from the page's live script
	// (public/web/live.js), which works before the wasm runs too.
	// The content height is reported by the page's live script (public/web/live.js), from
	// the first paint on, before and after the wasm runs.
}

// post sends a Message of type typ to the parent window at each allowed origin; the browser
// delivers it only where the parent's origin matches, so no other page ever receives it.
func (l *liveConn) post(typ string) {
	if l == nil {
		return
	}
	s := &l.c.State
	m := Message{Source: "mp-checkout", Type: typ, OrderID: s.Order.ID}
	if typ == "status" {
		m.Status = s.Order.Status
		if s.Order.Status.Terminal() {
			m.ReturnURL = s.ReturnTo
			if !l.c.returnAt.IsZero() && !l.c.stayed {
				ms := max(0, l.c.returnAt.Sub(time.Now().Add(l.c.offset)).Milliseconds())
				m.ReturnDelayMS = &ms
			}
		}
	}
	if typ == "closed" {
		l.c.conn.stop()
	}
	l.send(m)
}

func (l *liveConn) send(m Message) {
	if !inFrame() {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	w := app.Window()
	obj := w.Get("JSON").Call("parse", string(b))
	for _, o := range l.c.State.Origins {
		safely(func() { w.Get("parent").Call("postMessage", obj, o) })
	}
}

// inFrame reports whether the checkout runs inside a frame.
func inFrame() bool {
	if !app.IsClient {
		return false
	}
	w := app.Window()
	return !w.Get("top").Equal(w.Get("self"))
}

// navigate sends the top window (top) or this one to url. A refused navigation (a frame
// without user activation) is left to the visible link.
func navigate(url string, top bool) {
	safely(func() {
		target := app.Window().Get("location")
		if top {
			target = app.Window().Get("top").Get("location")
		}
		target.Set("href", url)
	})
}

// copyText copies s to the clipboard (the Clipboard API, or the older selection and
// execCommand where the API is missing, e.g. on plain http).
func copyText(s string) (ok bool) {
	safely(func() {
		nav := app.Window().Get("navigator")
		if cb := nav.Get("clipboard"); cb.Truthy() {
			cb.Call("writeText", s)
			ok = true
			return
		}
		doc := app.Window().Get("document")
		ta := doc.Call("createElement", "textarea")
		ta.Set("value", s)
		doc.Get("body").Call("appendChild", ta)
		ta.Call("select")
		ok = doc.Call("execCommand", "copy").Bool()
		ta.Call("remove")
	})
	return ok
}

// clockOffset estimates edge clock − browser clock from the edge's render time and the
// browser's navigation start (performance.timeOrigin), so a wrong device clock cannot make
// the countdown lie.
func clockOffset(edgeNow time.Time) time.Duration {
	if edgeNow.IsZero() || !app.IsClient {
		return 0
	}
	origin := app.Window().Get("performance").Get("timeOrigin")
	if !origin.Truthy() {
		return 0
	}
	ms := origin.Float()
	start := time.UnixMilli(int64(ms))
	return edgeNow.Sub(start)
}

// safely runs f, turning a JavaScript exception (a panic in syscall/js) into nothing: the
// checkout keeps working when a browser refuses an action.
func safely(f func()) {
	defer func() {
		if r := recover(); r != nil {
			app.Log("checkout:", r)
		}
	}()
	f()
}
