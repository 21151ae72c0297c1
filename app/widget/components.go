package widget

import (
	"net/url"
	"strconv"
	"strings"
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
	Partial  bool // part was received: this is what is still missing
	// Exact: the order shares its address with the merchant's other orders and this amount
	// alone tells them apart, so the customer is told to send it to the last digit.
	Exact bool
}

// Render draws the amount.
func (a *Amount) Render() app.UI {
	label := t(a.Lang, mAmountLabel)
	if a.Partial {
		label = t(a.Lang, mAmountDue)
	}
	var exact app.UI
	if a.Exact {
		exact = app.P().ID("exact-amount").Class("warn exact").Text(t(a.Lang, mExactBody, a.Value.String()))
	}
	return app.Div().Class("field amount").Body(
		app.P().Class("label").ID("amount-label").Text(label),
		app.Div().Class("row").Body(
			app.P().Class("big").Dir("ltr").Aria("labelledby", "amount-label").Body(
				app.Span().ID("pay-amount").Class("num").Text(fmtAmount(a.Lang, a.Value)),
				app.Text(" "),
				app.Span().Class("cur").Text(a.Currency),
			),
			&CopyButton{Lang: a.Lang, Value: a.Value.String(), Label: t(a.Lang, mCopyAmount), ID: "copy-amount"},
		),
		exact,
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
		app.Code().ID("address").Class("addr").Dir("ltr").Aria("labelledby", "address-label").Text(a.Address),
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
	cls := "field countdown"
	if secs < 60 {
		cls += " urgent" // the last minute: hurry, visibly
	}
	return app.Div().Class(cls).DataSet("left", secs).Body(
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

// StatusPanel says where the payment stands and what to do next, in plain words, with the
// amounts that matter to the customer: what arrived, what is missing, what was late or
// extra. It is a polite live region: a change of status is announced.
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
	// TimeUp: the order's time is over (its final status may not be in yet).
	TimeUp bool
	// Zone is where times are shown: the customer's in the browser, UTC on the edge.
	Zone *time.Location
	// Stay, when set, is the "stay on this page" button's action (an automatic return is on).
	Stay func(ctx app.Context, e app.Event)
}

// Render draws the status.
func (s *StatusPanel) Render() app.UI {
	o := &s.Order
	l := s.Lang
	amt := func(a checkout.Amount) string { return fmtAmount(l, a) }
	zone := s.Zone
	if zone == nil {
		zone = time.UTC
	}
	var title, body string
	var notes []app.UI
	note := func(id, text string) {
		notes = append(notes, app.P().ID(id).Class("note").Text(text))
	}
	switch o.Status {
	case checkout.StatusConfirming:
		title, body = t(l, mConfirmingTitle), t(l, mConfirmingBody)
		if got := o.AmountPaid + o.AmountPending; got < o.PayAmount {
			body = t(l, mConfirmingShort, amt(got), amt(o.PayAmount), amt(o.PayAmount-got))
		}
		if p, ok := confirming(o); ok {
			notes = append(notes, app.Div().Class("confirmations").Body(
				app.Progress().ID("confirm-progress").Max(p.ConfirmationsRequired).Value(p.Confirmations).
					Aria("label", t(l, mConfirmations, p.Confirmations, p.ConfirmationsRequired)),
				app.P().ID("confirmations").Text(t(l, mConfirmations, p.Confirmations, p.ConfirmationsRequired)),
			))
		}
	case checkout.StatusPaid:
		title, body = t(l, mPaidTitle), t(l, mPaidBody, amt(o.AmountPaid))
		if o.AmountOverpaid > 0 {
			note("overpaid", t(l, mOverpaidNote, amt(o.AmountOverpaid)))
		}
		notes = append(notes, s.receipt())
	case checkout.StatusUnderpaid:
		onTime := o.AmountPaid - o.AmountLate
		title, body = t(l, mUnderpaidTitle), t(l, mUnderpaidBody, amt(onTime), amt(o.PayAmount), amt(o.PayAmount-onTime))
	case checkout.StatusExpired:
		title, body = t(l, mExpiredTitle), t(l, mExpiredBody, fmtTime(l, o.ExpiresAt, zone))
	case checkout.StatusFrozen:
		got := o.AmountPaid
		if got == 0 {
			got = o.AmountPending
		}
		title, body = t(l, mFrozenTitle), t(l, mFrozenBody, amt(got))
	case checkout.StatusCanceled:
		title, body = t(l, mCanceledTitle), t(l, mCanceledBody)
	default:
		title = t(l, mPendingTitle)
		body = t(l, mPendingBody, amt(o.PayAmount), networkLabel(l, o.Network))
		if o.AmountPaid > 0 && o.AmountPaid < o.PayAmount {
			body = t(l, mPartialBody, amt(o.AmountPaid), amt(o.PayAmount), amt(o.PayAmount-o.AmountPaid))
		}
		if s.TimeUp {
			title, body = t(l, mTimeUpTitle), t(l, mTimeUpBody)
		}
	}
	cls := "status status-" + string(o.Status)
	// Funds after the end: say so first, whatever the final status; never "no payment".
	if o.AmountLate > 0 && o.Status != checkout.StatusPaid && o.Status != checkout.StatusFrozen {
		cls += " status-late"
		if o.Status == checkout.StatusExpired {
			title, body = t(l, mLateTitle), t(l, mLateBody, amt(o.AmountLate))
		} else {
			note("late", t(l, mLateBody, amt(o.AmountLate)))
		}
	}
	var back app.UI
	if o.Status.Terminal() && s.ReturnTo != "" {
		link := app.A().ID("return-link").Class("button primary").Href(s.ReturnTo).Text(t(l, mReturnNow))
		if s.TopTarget {
			link = link.Target("_top")
		}
		var when, stay app.UI
		if s.ReturnIn >= 0 {
			when = app.P().ID("returning").Text(t(l, mReturning, s.ReturnIn))
			if s.Stay != nil {
				stay = app.Button().Type("button").ID("stay").OnClick(s.Stay).Text(t(l, mStay))
			}
		}
		back = app.Div().Class("return").Body(when, app.Div().Class("row").Body(link, stay))
	}
	return app.Section().ID("status").Class(cls).DataSet("status", string(o.Status)).
		Aria("live", "polite").Body(
		app.H2().ID("status-title").Text(title),
		app.P().ID("status-body").Text(body),
		app.Range(notes).Slice(func(i int) app.UI { return notes[i] }),
		back,
	)
}

// receipt is what a paid order's page keeps: the amount, when, and the order.
func (s *StatusPanel) receipt() app.UI {
	o := &s.Order
	var when app.UI
	if o.PaidAt != nil {
		when = app.Div().Body(app.Dt().Text(t(s.Lang, mPaidAt)), app.Dd().ID("paid-at").Text(fmtTime(s.Lang, *o.PaidAt, s.Zone)))
	}
	return app.Dl().ID("receipt").Class("receipt").Aria("label", t(s.Lang, mReceipt)).Body(
		app.Div().Body(app.Dt().Text(t(s.Lang, mAmountPaid)),
			app.Dd().ID("receipt-amount").Dir("ltr").Text(fmtAmount(s.Lang, o.AmountPaid)+" "+o.Currency)),
		when,
	)
}

// MerchantHead names whom the customer pays (with the logo when set) and offers the
// language switcher: plain links, so it works before the wasm runs.
type MerchantHead struct {
	app.Compo
	Lang     string
	Merchant *checkout.CheckoutMerchant
	Langs    []langLink
	Close    app.UI // a modal's close button, or nil
}

// Render draws the bar.
func (m *MerchantHead) Render() app.UI {
	var who app.UI
	if m.Merchant != nil && m.Merchant.Name != "" {
		var logo app.UI
		if m.Merchant.LogoURL != "" {
			logo = app.Img().Class("logo").Src(m.Merchant.LogoURL).Alt("").Width(32).Height(32)
		}
		who = app.P().Class("merchant").Body(logo, app.Span().ID("merchant-name").Text(m.Merchant.Name))
	}
	var cur string
	for _, l := range m.Langs {
		if l.Code == m.Lang {
			cur = l.Name
		}
	}
	return app.Div().Class("bar").Body(
		who,
		app.Details().ID("lang").Class("lang").Body(
			app.Summary().Aria("label", t(m.Lang, mLanguage)).Text(cur),
			app.Ul().Body(app.Range(m.Langs).Slice(func(i int) app.UI {
				l := m.Langs[i]
				a := app.A().Href(l.Href).Lang(l.Code).Attr("hreflang", l.Code).Text(l.Name)
				if l.Code == m.Lang {
					a = a.Aria("current", "true")
				}
				return app.Li().Body(a)
			})),
		),
		m.Close,
	)
}

// Details is the order's reference for whoever the customer talks to: the merchant, its
// support contact, the order id and each transaction (with a block explorer link where the
// edge has one), each copyable.
type Details struct {
	app.Compo
	Lang      string
	Order     checkout.CheckoutView
	Explorers map[checkout.Network]string
}

// Render draws the details.
func (d *Details) Render() app.UI {
	o := &d.Order
	l := d.Lang
	var rows []app.UI
	if m := o.Merchant; m != nil && m.Name != "" {
		rows = append(rows, app.Div().Body(app.Dt().Text(t(l, mMerchant)), app.Dd().Text(m.Name)))
	}
	rows = append(rows, app.Div().Body(app.Dt().Text(t(l, mOrderID)), app.Dd().Class("copyrow").Body(
		app.Code().ID("order-id").Dir("ltr").Text(o.ID),
		&CopyButton{Lang: l, Value: o.ID, Label: t(l, mCopy), ID: "copy-order-id"},
	)))
	for i, p := range o.Payments {
		if p.Status == checkout.PaymentReverted {
			continue
		}
		var link app.UI
		if tmpl := d.Explorers[o.Network]; tmpl != "" {
			u := strings.ReplaceAll(tmpl, "{tx}", url.PathEscape(p.TxHash))
			link = app.A().Class("explorer").Href(u).Target("_blank").Rel("noopener noreferrer").
				Text(t(l, mExplorer, explorerName(u)))
		}
		id := "tx-" + strconv.Itoa(i)
		rows = append(rows, app.Div().Class("tx").Body(
			app.Dt().Text(t(l, mTransaction)+" · "+fmtAmount(l, p.Amount)+" "+o.Currency),
			app.Dd().Class("copyrow").Body(
				app.Code().ID(id).Class("hash").Dir("ltr").Text(p.TxHash),
				&CopyButton{Lang: l, Value: p.TxHash, Label: t(l, mCopy), ID: "copy-" + id},
				link,
			)))
	}
	var support []app.UI
	if m := o.Merchant; m != nil {
		if m.SupportURL != "" {
			support = append(support, app.A().ID("support-url").Href(m.SupportURL).Target("_blank").
				Rel("noopener noreferrer").Text(hostOf(m.SupportURL)))
		}
		if m.SupportEmail != "" {
			support = append(support, app.Span().Class("copyrow").Body(
				app.A().ID("support-email").Href("mailto:"+m.SupportEmail+"?subject="+url.QueryEscape(o.ID)).Text(m.SupportEmail),
				&CopyButton{Lang: l, Value: m.SupportEmail, Label: t(l, mCopy), ID: "copy-support-email"},
			))
		}
	}
	if len(support) == 0 {
		support = append(support, app.Span().Text(t(l, mSupportNone)))
	}
	rows = append(rows, app.Div().Class("support").Body(app.Dt().Text(t(l, mSupport)),
		app.Dd().ID("support").Body(support...)))
	return app.Dl().ID("details").Class("details").Body(rows...)
}

// explorerName is the host of an explorer URL, for its link's text (tronscan.org).
func explorerName(u string) string {
	h := hostOf(u)
	return strings.TrimPrefix(h, "www.")
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
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
