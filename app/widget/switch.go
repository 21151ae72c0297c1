package widget

import (
	"encoding/json"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
)

// NetworkSwitch offers the networks the customer may pay on while the order can still change
// network (CheckoutView.NetworkChoices): one button per network with its fee hint, the
// current one marked and not a button. A click posts the choice (POST /v1/checkout/{id}/network) and the
// page shows the new address, QR code and amount. Before the wasm runs, the page's live
// script (public/web/live.js) handles the click (data-switch-network).
type NetworkSwitch struct {
	app.Compo
	Lang    string
	Current checkout.Network
	Choices []checkout.Network
	Busy    bool
	Failed  bool // the last switch failed: say so, and that the current network still works
	// OnPick switches to a network (set in the browser; nil on the edge).
	OnPick func(ctx app.Context, n checkout.Network)
}

// feeHint is the network's fee hint: TRON's transfers cost far less than Ethereum's.
func feeHint(lang string, n checkout.Network) string {
	if n == checkout.TRC20 {
		return t(lang, mFeeLow)
	}
	return t(lang, mFeeHigh)
}

// Render draws the choice.
func (s *NetworkSwitch) Render() app.UI {
	l := s.Lang
	var failed app.UI
	if s.Failed {
		failed = app.P().ID("switch-error").Class("warn").Role("alert").Text(t(l, mSwitchFailed, networkLabel(l, s.Current)))
	}
	box := app.Div().ID("network-switch").Class("field switch").Role("group").Aria("labelledby", "switch-label").
		Aria("describedby", "switch-hint")
	if s.Busy {
		box = box.Aria("busy", "true")
	}
	return box.Body(
		app.P().Class("label").ID("switch-label").Text(t(l, mSwitchLabel)),
		app.Div().Class("choices").Body(app.Range(s.Choices).Slice(func(i int) app.UI {
			n := s.Choices[i]
			name := app.Span().Class("name").Text(networkLabel(l, n))
			fee := app.Span().Class("fee").Text(feeHint(l, n))
			if n == s.Current {
				// The network in use is no button: nothing to do there. (go-app prints a
				// "true" attribute bare, so aria-pressed="true" cannot be rendered.)
				return app.Div().ID("switch-"+string(n)).Class("choice current").DataSet("current", string(n)).Body(name, fee)
			}
			b := app.Button().Type("button").ID("switch-"+string(n)).Class("choice").
				DataSet("switch-network", string(n)).Body(name, fee)
			if s.Busy {
				b = b.Disabled(true) // never Disabled(false): it prints disabled="false", which disables
			}
			if s.OnPick != nil {
				b = b.OnClick(func(ctx app.Context, e app.Event) { s.OnPick(ctx, n) })
			}
			return b
		})),
		app.P().ID("switch-hint").Class("hint").Text(t(l, mSwitchHint)),
		failed,
	)
}

// switchNetwork posts the customer's choice and applies the order it answers with.
func (c *Checkout) switchNetwork(ctx app.Context, n checkout.Network) {
	if c.switching || n == c.State.Order.Network {
		return
	}
	c.switching, c.switchFailed = true, false
	body, _ := json.Marshal(map[string]string{"network": string(n)})
	done := func(v *checkout.CheckoutView) {
		ctx.Dispatch(func(app.Context) {
			c.switching = false
			if v == nil {
				c.switchFailed = true
				return
			}
			c.apply(*v)
		})
	}
	safely(func() {
		opts := map[string]any{"method": "POST", "cache": "no-store", "body": string(body),
			"headers": map[string]any{"Content-Type": "application/json"}}
		p := app.Window().Call("fetch", "/v1/checkout/"+c.State.Order.ID+"/network", opts)
		p.Then(func(resp app.Value) {
			if !resp.Truthy() || !resp.Get("ok").Bool() {
				done(nil)
				return
			}
			resp.Call("text").Then(func(text app.Value) {
				var v checkout.CheckoutView
				if json.Unmarshal([]byte(text.String()), &v) != nil {
					done(nil)
					return
				}
				done(&v)
			})
		})
	})
}
