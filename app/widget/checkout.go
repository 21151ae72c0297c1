package widget

import (
	"encoding/json"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
)

// Route is the go-app route of the checkout: /pay/{order id}.
const Route = "^/pay/[^/]+$"

// Register declares the checkout's routes to go-app (the wasm's main calls it).
func Register() { app.RouteWithRegexp(Route, &Checkout{}) }

// Checkout is the whole checkout: the order's amount, network, address, QR code and countdown
// while it waits for payment, and its status throughout.
//
// On the edge it renders from State directly. In the browser it reads the State the edge
// embedded in the page, then keeps it current from the order's event stream (see live.go).
type Checkout struct {
	app.Compo
	State State

	client   bool          // rendered by the wasm (data-client on the root: the wasm has started)
	live     bool          // the event stream is open
	now      time.Time     // the edge's clock, as estimated in the browser
	offset   time.Duration // edge clock − browser clock
	returnAt time.Time     // when the terminal redirect happens; zero = none scheduled
	returned bool
	stayed   bool // the customer chose to stay: no automatic return
	// A network switch is being posted; the last one failed (switch.go).
	switching, switchFailed bool
	conn                    *liveConn
}

// OnInit runs in the browser before the first render: the component starts from the State the
// edge rendered, so the wasm's first render matches the first paint.
func (c *Checkout) OnInit() {
	if !app.IsClient {
		return
	}
	c.client = true
	el := app.Window().GetElementByID(StateElementID)
	if el.Truthy() {
		if err := json.Unmarshal([]byte(el.Get("textContent").String()), &c.State); err != nil {
			app.Log("checkout: reading the page state:", err)
		}
	}
	c.offset = clockOffset(c.State.Now)
	c.now = time.Now().Add(c.offset)
}

// OnMount starts the live part in the browser: the event stream, the clock, the messages to
// and from the host page.
func (c *Checkout) OnMount(ctx app.Context) {
	if c.State.Order.ID == "" {
		return
	}
	if c.State.Order.Status.Terminal() {
		c.scheduleReturn() // before the first status message, which carries the delay
	}
	c.conn = startLive(ctx, c)
	ctx.Async(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				ctx.Dispatch(func(ctx app.Context) { c.onTick(ctx) })
			}
		}
	})
	if c.State.MPChat && c.State.OpenApp && !c.State.Order.Status.Terminal() {
		navigate(c.State.Order.DeepLink, false)
	}
}

// OnDismount releases what OnMount started.
func (c *Checkout) OnDismount() {
	if c.conn != nil {
		c.conn.close()
	}
}

func (c *Checkout) onTick(ctx app.Context) {
	c.now = time.Now().Add(c.offset)
	if !c.returnAt.IsZero() && !c.returned && !c.stayed && !c.now.Before(c.returnAt) {
		c.returned = true
		if c.State.Embed == EmbedNone {
			c.goBack()
		} // else embed.js, in the top window, navigates: browsers let it, not a frame
	}
}

// apply takes a newer view of the order (from the stream or a fallback read).
func (c *Checkout) apply(v checkout.CheckoutView) {
	if v.ID != c.State.Order.ID {
		return
	}
	if c.State.Order.Status.Terminal() && !v.Status.Terminal() {
		return // a stale read racing the stream; terminal statuses are never left
	}
	changed := v.Status != c.State.Order.Status
	if v.Merchant == nil {
		v.Merchant = c.State.Order.Merchant // stream messages leave the merchant out
	}
	c.State.Order = v
	if changed {
		if v.Status.Terminal() {
			c.conn.stop()
			c.scheduleReturn()
		}
		c.conn.post("status")
	}
}

// scheduleReturn plans the automatic return to the shop: only after PAID, whose page is a
// receipt the customer can read first (and stay on). Every other final status stays on the
// page: it says what happened and whom to contact, and a redirect would hide that.
func (c *Checkout) scheduleReturn() {
	if c.State.ReturnTo == "" || !c.returnAt.IsZero() || c.State.Order.Status != checkout.StatusPaid {
		return
	}
	if c.State.HostRedirect {
		return // the merchant's page sends the customer back
	}
	// The clock the page shows moves on too: rendered with an older c.now, the countdown
	// would start above the delay.
	c.now = time.Now().Add(c.offset)
	c.returnAt = c.now.Add(c.State.ReturnDelay)
}

// stay cancels the automatic return; the return button stays.
func (c *Checkout) stay() {
	c.stayed = true
	c.conn.post("status") // without a return delay: embed.js cancels its timer
}

// goBack sends the customer to return_url: the top window when framed (a payment must not
// stay trapped in a frame), else this one. Browsers refuse a frame's navigation of the top
// window without a user gesture; the visible "Return to the shop" link (target _top) stays.
func (c *Checkout) goBack() {
	navigate(c.State.ReturnTo, inFrame())
}

// Render draws the checkout: who is paid, where the payment stands, then (while it can be
// paid) what to send where, then the order's details and whom to ask.
func (c *Checkout) Render() app.UI {
	s := &c.State
	lang := s.Lang
	o := &s.Order
	now := s.Now
	zone := time.UTC
	if c.client {
		now, zone = c.now, time.Local
	}
	returnIn := -1
	if !c.returnAt.IsZero() && !c.stayed {
		returnIn = int((c.returnAt.Sub(now) + time.Second - 1) / time.Second)
		if returnIn < 0 {
			returnIn = 0
		}
	}
	root := app.Main().ID("checkout").Class("checkout").Lang(lang).Dir(Dir(lang)).DataSet("status", string(o.Status))
	if s.Embed != EmbedNone {
		root = root.DataSet("embed", s.Embed)
	}
	if c.client {
		root = root.DataSet("client", "wasm")
	}
	if c.live {
		root = root.DataSet("live", "true")
	}
	var desc app.UI
	if o.Description != "" {
		desc = app.P().Class("desc").Body(
			app.Span().Class("label").Text(t(lang, mPayFor)+" "),
			app.Span().ID("description").Text(o.Description),
		)
	}
	var pay app.UI
	timeUp := !now.Before(o.ExpiresAt)
	if payable(o, now) {
		var appLink app.UI
		if s.MPChat {
			appLink = &AppLink{Lang: lang, Href: o.DeepLink}
		}
		due := o.PayAmount - paidOf(o)
		var choose app.UI
		if len(o.NetworkChoices) > 1 {
			sw := &NetworkSwitch{Lang: lang, Current: o.Network, Choices: o.NetworkChoices, Busy: c.switching,
				Failed: c.switchFailed}
			if c.client {
				sw.OnPick = c.switchNetwork
			}
			choose = sw
		}
		pay = app.Div().Class("pay").Body(
			appLink,
			&Countdown{Lang: lang, Expires: o.ExpiresAt, Now: now},
			choose,
			&Amount{Lang: lang, Value: due, Currency: o.Currency, Partial: due < o.PayAmount,
				Exact: o.ReceiveMode == checkout.ReceiveAddresses},
			&NetworkBadge{Lang: lang, Network: o.Network},
			&AddressCopy{Lang: lang, Address: o.Address},
			&QR{Lang: lang, URI: PayURI(o.Network, o.Address, due, s.Token, s.ChainID)},
			devPay(s),
		)
	}
	var state app.UI
	if c.client {
		label := t(lang, mReconnecting)
		if c.live || o.Status.Terminal() {
			label = t(lang, mLive)
		}
		state = app.P().ID("conn").Class("conn").Text(label)
	}
	var stay func(ctx app.Context, e app.Event)
	if returnIn >= 0 {
		stay = func(ctx app.Context, e app.Event) { c.stay() }
	}
	var closeBtn app.UI
	if s.Embed == EmbedModal { // the page's live script posts "closed" on a click or Escape
		closeBtn = app.Button().Type("button").ID("close").Class("close").Aria("label", t(lang, mClose)).Text("×")
	}
	return root.Body(
		&MerchantHead{Lang: lang, Merchant: o.Merchant, Langs: langLinks(s), Close: closeBtn},
		app.Header().Class("head").Body(
			app.H1().Text(t(lang, mTitle)),
			desc,
		),
		&StatusPanel{Lang: lang, Order: *o, ReturnTo: s.ReturnTo, ReturnIn: returnIn, TopTarget: true,
			TimeUp: timeUp, Zone: zone, Stay: stay},
		pay,
		c.claimForm(),
		&Details{Lang: lang, Order: *o, Explorers: s.Explorers},
		state,
	)
}

// payable reports whether the page invites payment: the order is open, its time is not up
// and no transfers covering the amount are confirming (showing the QR code then invites a
// second payment).
func payable(o *checkout.CheckoutView, now time.Time) bool {
	if o.Status.Terminal() || !now.Before(o.ExpiresAt) {
		return false
	}
	covered := o.Status == checkout.StatusConfirming && o.AmountPaid+o.AmountPending >= o.PayAmount
	return !covered
}

// devPay is the dev-mode pay control, or nil outside development mode.
func devPay(s *State) app.UI {
	if s.DevPayURL == "" {
		return nil
	}
	return &DevPay{Lang: s.Lang, URL: s.DevPayURL, OrderID: s.Order.ID}
}

// paidOf is what was already received and so no longer needs sending: confirmed (a partial
// payment leaves the order PENDING with the rest to send) or, while CONFIRMING, on chain.
func paidOf(o *checkout.CheckoutView) checkout.Amount {
	got := o.AmountPaid
	if o.Status == checkout.StatusConfirming {
		got += o.AmountPending // on chain, confirming: not to be sent again
	}
	if got > 0 && got < o.PayAmount {
		return got
	}
	return 0
}
