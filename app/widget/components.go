package widget

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
)

// Amount shows what to send, with a button that copies the number alone (wallets want the
// number without the currency).
type Amount struct {
	app.Compo
	Lang     string
	Value    checkout.Amount
	Currency string
}

// Render draws the amount.
func (a *Amount) Render() app.UI {
	return app.Div().Class("field amount").Body(
		app.P().Class("label").ID("amount-label").Text(t(a.Lang, mAmountLabel)),
		app.Div().Class("row").Body(
			app.P().Class("big").Aria("labelledby", "amount-label").Body(
				app.Span().ID("pay-amount").Class("num").Text(a.Value.String()),
				app.Text(" "),
				app.Span().Class("cur").Text(a.Currency),
			),
			&CopyButton{Lang: a.Lang, Value: a.Value.String(), Label: t(a.Lang, mCopyAmount), ID: "copy-amount"},
		),
	)
}

// NetworkBadge names the network clearly, with the warning that matters most: the wrong
// network loses the money.
type NetworkBadge struct {
	app.Compo
	Lang    string
	Network checkout.Network
}

// Render draws the network label and the warning.
func (n *NetworkBadge) Render() app.UI {
	return app.Div().Class("field network").Body(
		app.P().Class("label").Text(t(n.Lang, mNetworkLabel)),
		app.P().Class("badge").ID("network").DataSet("network", string(n.Network)).Text(networkLabel(n.Lang, n.Network)),
		app.P().Class("warn").Text(t(n.Lang, mNetworkWarning, networkLabel(n.Lang, n.Network))),
	)
}

// AddressCopy shows the deposit address in full (wrapped, never truncated: a customer must
// be able to check every character) with a copy button.
type AddressCopy struct {
	app.Compo
	Lang    string
	Address string
}

// Render draws the address.
func (a *AddressCopy) Render() app.UI {
	return app.Div().Class("field address").Body(
		app.P().Class("label").ID("address-label").Text(t(a.Lang, mAddressLabel)),
		app.Code().ID("address").Class("addr").Aria("labelledby", "address-label").Text(a.Address),
		&CopyButton{Lang: a.Lang, Value: a.Address, Label: t(a.Lang, mCopy), ID: "copy-address"},
	)
}

// CopyButton copies Value to the clipboard and says so for two seconds. Before the wasm runs
// it does nothing, which is why the values it copies are also shown as selectable text.
type CopyButton struct {
	app.Compo
	Lang  string
	Value string
	Label string
	ID    string

	copied bool
}

// Render draws the button; its text changes to "Copied" in a polite live region.
func (b *CopyButton) Render() app.UI {
	label := b.Label
	if b.copied {
		label = t(b.Lang, mCopied)
	}
	return app.Button().Type("button").ID(b.ID).Class("copy").Aria("live", "polite").
		OnClick(b.onClick).Text(label)
}

func (b *CopyButton) onClick(ctx app.Context, e app.Event) {
	if !copyText(b.Value) {
		return
	}
	b.copied = true
	ctx.After(2*time.Second, func(ctx app.Context) { b.copied = false })
}

// QR shows the payment as a QR code drawn inline (SVG), so the first paint has it without a
// second request.
type QR struct {
	app.Compo
	Lang string
	URI  string
}

// Render draws the code, or nothing when URI cannot be encoded.
func (q *QR) Render() app.UI {
	svg, err := qrSVG(q.URI, t(q.Lang, mQRLabel, q.URI))
	if err != nil {
		return app.Div().Class("qr")
	}
	return app.Div().Class("qr").Body(
		app.Div().Class("qr-box").Body(app.Raw(svg)),
		app.P().Class("hint").Text(t(q.Lang, mQRHint)),
	)
}

// Countdown shows the time left until the order expires. The visible clock is not a live
// region (a screen reader would read every second); a separate polite region announces whole
// minutes, and each second of the last ten.
type Countdown struct {
	app.Compo
	Lang    string
	Expires time.Time
	Now     time.Time
}

// Render draws the remaining time.
func (c *Countdown) Render() app.UI {
	left := c.Expires.Sub(c.Now)
	if left < 0 {
		left = 0
	}
	secs := int(left / time.Second)
	clock := strconv.Itoa(secs/60) + ":" + pad2(secs%60)
	if secs == 0 {
		clock = t(c.Lang, mTimeUp)
	}
	spoken := t(c.Lang, mMinutesLeft, (secs+59)/60)
	if secs < 60 {
		spoken = t(c.Lang, mSecondsLeft, secs)
		if secs > 10 {
			spoken = t(c.Lang, mSecondsLeft, (secs+9)/10*10)
		}
	}
	return app.Div().Class("field countdown").Body(
		app.P().Class("label").ID("countdown-label").Text(t(c.Lang, mTimeLeft)),
		app.P().Class("clock").ID("countdown").Role("timer").Aria("labelledby", "countdown-label").
			Aria("live", "off").Body(
			app.Time().DateTime(c.Expires.UTC().Format(time.RFC3339)).Text(clock),
		),
		app.P().Class("sr-only").Aria("live", "polite").Text(spoken),
	)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// StatusPanel says where the payment stands and what to do next, in plain words. It is a
// polite live region: a change of status is announced.
type StatusPanel struct {
	app.Compo
	Lang     string
	Order    checkout.CheckoutView
	ReturnTo string
	// ReturnIn is the number of seconds before the redirect to ReturnTo, or -1 when none is
	// scheduled.
	ReturnIn int
	// TopTarget opens the return link in the top window (the checkout is in a frame).
	TopTarget bool
}

// Render draws the status.
func (s *StatusPanel) Render() app.UI {
	o := &s.Order
	var title, body string
	var extra app.UI
	switch o.Status {
	case checkout.StatusConfirming:
		title, body = t(s.Lang, mConfirmingTitle), t(s.Lang, mConfirmingBody)
		if got := o.AmountPaid + o.AmountPending; got < o.PayAmount {
			body = t(s.Lang, mConfirmingShort, got.String(), o.PayAmount.String(), (o.PayAmount - got).String())
		}
		if p, ok := confirming(o); ok {
			extra = app.Div().Class("confirmations").Body(
				app.Progress().ID("confirm-progress").Max(p.ConfirmationsRequired).Value(p.Confirmations).
					Aria("label", t(s.Lang, mConfirmations, p.Confirmations, p.ConfirmationsRequired)),
				app.P().ID("confirmations").Text(t(s.Lang, mConfirmations, p.Confirmations, p.ConfirmationsRequired)),
			)
		}
	case checkout.StatusPaid:
		title, body = t(s.Lang, mPaidTitle), t(s.Lang, mPaidBody, o.AmountPaid.String())
	case checkout.StatusUnderpaid:
		title, body = t(s.Lang, mUnderpaidTitle), t(s.Lang, mUnderpaidBody, o.AmountPaid.String(), o.PayAmount.String())
	case checkout.StatusExpired:
		title, body = t(s.Lang, mExpiredTitle), t(s.Lang, mExpiredBody)
	case checkout.StatusFrozen:
		title, body = t(s.Lang, mFrozenTitle), t(s.Lang, mFrozenBody)
	default:
		title = t(s.Lang, mPendingTitle)
		body = t(s.Lang, mPendingBody, o.PayAmount.String(), networkLabel(s.Lang, o.Network))
		if o.AmountPaid > 0 && o.AmountPaid < o.PayAmount {
			body = t(s.Lang, mPartialBody, o.AmountPaid.String(), o.PayAmount.String(), (o.PayAmount - o.AmountPaid).String())
		}
	}
	var back app.UI
	if o.Status.Terminal() && s.ReturnTo != "" {
		link := app.A().ID("return-link").Class("button").Href(s.ReturnTo).Text(t(s.Lang, mReturnNow))
		if s.TopTarget {
			link = link.Target("_top")
		}
		var note app.UI
		if s.ReturnIn >= 0 {
			note = app.P().ID("returning").Text(t(s.Lang, mReturning, s.ReturnIn))
		}
		back = app.Div().Class("return").Body(note, link)
	}
	return app.Section().ID("status").Class("status status-"+string(o.Status)).DataSet("status", string(o.Status)).
		Aria("live", "polite").Body(
		app.H2().ID("status-title").Text(title),
		app.P().ID("status-body").Text(body),
		extra,
		back,
	)
}

// confirming returns the payment waiting for confirmations, if any.
func confirming(o *checkout.CheckoutView) (checkout.CheckoutPayment, bool) {
	for i := len(o.Payments) - 1; i >= 0; i-- {
		if o.Payments[i].Status == checkout.PaymentConfirming {
			return o.Payments[i], true
		}
	}
	return checkout.CheckoutPayment{}, false
}

// DevPay is the development-mode control that pays the order on the local dev chain: a form
// posted to the dev payer (in a new tab), so it works before the wasm runs too. The edge
// renders it only in dev mode.
type DevPay struct {
	app.Compo
	Lang    string
	URL     string
	OrderID string
}

// Render draws the control, marked as development-only.
func (d *DevPay) Render() app.UI {
	return app.Form().Class("field devpay").Method("post").Action(d.URL).Target("_blank").Body(
		app.Input().Type("hidden").Name("order").Value(d.OrderID),
		app.Button().Type("submit").ID("dev-pay").Class("button dev").Aria("describedby", "dev-pay-hint").
			Text(t(d.Lang, mDevPay)),
		app.P().ID("dev-pay-hint").Class("hint").Text(t(d.Lang, mDevPayHint)),
	)
}

// AppLink offers the MPChat deep link (mpchat://pay?order={id}) inside the MPChat app.
type AppLink struct {
	app.Compo
	Lang string
	Href string
}

// Render draws the link.
func (a *AppLink) Render() app.UI {
	return app.Div().Class("field app").Body(
		app.A().ID("mpchat-link").Class("button primary").Href(a.Href).Aria("describedby", "mpchat-hint").
			Text(t(a.Lang, mOpenApp)),
		app.P().ID("mpchat-hint").Class("hint").Text(t(a.Lang, mOpenAppHint)),
	)
}
