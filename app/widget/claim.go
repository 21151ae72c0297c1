package widget

import (
	"encoding/json"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
)

// ClaimForm lets a customer whose transfer matched no order name it by transaction hash
// (POST /v1/checkout/{id}/claim). It exists for orders on a merchant's shared addresses, where
// only the exact pay_amount tells orders apart: an exchange that deducts its withdrawal fee,
// a wrong amount or a late payment leaves the transfer unmatched, recorded but not credited.
//
// It is a disclosure (closed by default) so it takes no room on the first screen. The first
// paint renders it; the wasm makes it work (before that, the page's CSP refuses the form's
// native submission, so nothing is sent half-done).
type ClaimForm struct {
	app.Compo
	Lang      string
	OrderID   string
	OnClaimed func(checkout.CheckoutView) // the order after an accepted claim

	hash   string
	busy   bool
	result msg  // the last outcome's text; meaningful when shown is true
	shown  bool // an outcome is on display
	ok     bool // and it is an acceptance
}

// Render draws the disclosure, the field and the outcome of the last claim.
func (f *ClaimForm) Render() app.UI {
	l := f.Lang
	label := t(l, mClaimSubmit)
	if f.busy {
		label = t(l, mClaimChecking)
	}
	out := app.P().ID("claim-result").Class("claim-result").Role("status").Aria("live", "polite")
	if f.shown {
		kind := "refused"
		if f.ok {
			kind = "accepted"
		}
		out = out.DataSet("result", kind).Text(t(l, f.result))
	}
	return app.Details().ID("claim").Class("claim").Body(
		app.Summary().Text(t(l, mClaimTitle)),
		app.P().Class("hint").Text(t(l, mClaimHint)),
		app.Form().ID("claim-form").OnSubmit(f.onSubmit).Body(
			app.Label().For("claim-tx").Class("label").Text(t(l, mClaimLabel)),
			app.Div().Class("row").Body(
				app.Input().ID("claim-tx").Name("tx_hash").Type("text").Class("claim-tx").Dir("ltr").
					Attr("autocomplete", "off").Attr("spellcheck", "false").Attr("autocapitalize", "off").
					Attr("inputmode", "text").Attr("maxlength", "80").Required(true).
					Value(f.hash).OnInput(f.onInput),
				app.Button().Type("submit").ID("claim-submit").Class("primary").Disabled(f.busy).Text(label),
			),
			out,
		),
	)
}

func (f *ClaimForm) onInput(ctx app.Context, e app.Event) {
	f.hash = ctx.JSSrc().Get("value").String()
}

func (f *ClaimForm) onSubmit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if f.busy {
		return
	}
	hash, ok := checkout.ParseTxHash(f.hash)
	if !ok {
		f.show(mClaimInvalid, false)
		return
	}
	f.busy, f.shown = true, false
	body, _ := json.Marshal(map[string]string{"tx_hash": hash})
	p := app.Window().Call("fetch", "/v1/checkout/"+f.OrderID+"/claim", map[string]any{
		"method": "POST", "cache": "no-store", "body": string(body),
		"headers": map[string]any{"Content-Type": "application/json"},
	})
	var failed app.Func
	failed = app.FuncOf(func(this app.Value, args []app.Value) any {
		ctx.Dispatch(func(ctx app.Context) { f.busy = false; f.show(mClaimFailed, false) })
		failed.Release()
		return nil
	})
	p.Then(func(resp app.Value) {
		failed.Release()
		status := resp.Get("status").Int()
		resp.Call("text").Then(func(b app.Value) {
			text := b.String()
			ctx.Dispatch(func(ctx app.Context) { f.done(status, text) })
		})
	})
	p.Call("catch", failed)
}

// done shows the answer of the claim request: the order as it now stands, or why not.
func (f *ClaimForm) done(status int, body string) {
	f.busy = false
	if status == 200 {
		var v checkout.CheckoutView
		if json.Unmarshal([]byte(body), &v) == nil && v.ID != "" {
			f.hash = ""
			f.show(mClaimAccepted, true)
			if f.OnClaimed != nil {
				f.OnClaimed(v)
			}
			return
		}
	}
	var e struct {
		Error checkout.Error `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	f.show(claimRefusal(status, e.Error.Code), false)
}

func (f *ClaimForm) show(m msg, ok bool) { f.result, f.shown, f.ok = m, true, ok }

// claimRefusal is the customer's text for a refused claim: the API's own message is for
// developers (and English only), so the page says what the customer can do instead.
func claimRefusal(status int, code checkout.Code) msg {
	switch {
	case status == 429:
		return mClaimTooMany
	case code == checkout.CodeTransferCredited:
		return mClaimCredited
	case code == checkout.CodeClaimRefused:
		return mClaimNotFound
	default:
		return mClaimFailed
	}
}

// claimForm is the claim disclosure for orders on shared merchant addresses, while a claim
// can still change something (not once PAID, FROZEN or CANCELED); else nil.
func (c *Checkout) claimForm() app.UI {
	o := &c.State.Order
	if o.ReceiveMode != checkout.ReceiveAddresses {
		return nil
	}
	switch o.Status {
	case checkout.StatusPaid, checkout.StatusFrozen, checkout.StatusCanceled:
		return nil
	}
	return &ClaimForm{Lang: c.State.Lang, OrderID: o.ID, OnClaimed: c.apply}
}
