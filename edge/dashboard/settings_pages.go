package dashboard

import (
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/merchants"
)

// settingsSubs are the settings pages, in their navigation's order: path under
// /dashboard/settings and text key. The blocklist is the operators' only.
var settingsSubs = []struct {
	path, key string
	operator  bool
}{
	{"", "settings.nav.overview", false},
	{"/keys", "settings.nav.keys", false},
	{"/webhook", "settings.nav.webhook", false},
	{"/receive", "settings.nav.receive", false},
	{"/checkout", "settings.nav.checkout", false},
	{"/blocklist", "settings.nav.blocklist", true},
}

func settingsTitle(sub string) string {
	if sub == "" {
		return "settings.title"
	}
	return "settings.title." + strings.TrimPrefix(sub, "/")
}

// settingsNav links the settings pages; the current one is marked (aria-current).
func settingsNav(r *request, sub, merchantID string) app.UI {
	var items []app.UI
	for _, s := range settingsSubs {
		if s.operator && !r.cur.User.Operator {
			continue
		}
		a := app.A().Href("%s", settingsURL(r, s.path, merchantID, "")).Text(t(r.lang, s.key))
		if s.path == sub {
			a = a.Aria("current", "page")
		}
		items = append(items, app.Li().Body(a))
	}
	return app.Nav().Class("subnav").Aria("label", t(r.lang, "settings.nav.label")).Body(app.Ul().Body(items...))
}

// settingsChooser is the operator's merchant selector: a GET form, so it works without script.
func settingsChooser(r *request, sub, current string, all []*checkout.Merchant) app.UI {
	if !r.cur.User.Operator {
		return nil
	}
	opts := []app.UI{app.Option().Value("").Text(t(r.lang, "settings.choose.none"))}
	for _, m := range all {
		opts = append(opts, app.Option().Value(m.ID).Selected(m.ID == current).Text(m.Name+" ("+m.ID+")"))
	}
	return app.Form().Class("chooser").Method("get").Action("%s", settingsPath+sub).Body(
		app.Input().Type("hidden").Name("lang").Value(r.lang),
		app.Label().For("merchant").Text(t(r.lang, "settings.choose.label")),
		app.Div().Class("row").Body(
			app.Select().ID("%s", "merchant").Name("%s", "merchant").Body(opts...),
			app.Button().Type("submit").Class("secondary").Text(t(r.lang, "settings.choose.button")),
		),
	)
}

func settingsChoosePage(r *request, sub string, all []*checkout.Merchant) app.UI {
	return page(r, t(r.lang, "settings.title"),
		settingsChooser(r, sub, "", all),
		settingsNav(r, sub, ""),
		app.P().Text(t(r.lang, "settings.choose.hint")))
}

// settingsField is a labelled control with its hint and, when refused, its error beside it
// (aria-invalid, and aria-describedby naming both).
func settingsField[T interface {
	app.UI
	ID(string, ...any) T
	Name(string, ...any) T
	Aria(string, any) T
}](id, name, label, hint, errMsg string, el T) app.UI {
	el = el.ID("%s", id).Name("%s", name)
	var described []string
	var hintEl, errEl app.UI
	if hint != "" {
		described = append(described, id+"-hint")
		hintEl = app.P().Class("hint").ID("%s", id+"-hint").Text(hint)
	}
	if errMsg != "" {
		described = append(described, id+"-error")
		errEl = app.P().Class("field-error").ID("%s", id+"-error").Text(errMsg)
		el = el.Aria("invalid", "true")
	}
	if len(described) > 0 {
		el = el.Aria("describedby", strings.Join(described, " "))
	}
	return app.Div().Class("field").Body(app.Label().For(id).Text(label), el, errEl, hintEl)
}

func settingsSubmit(id, text string) app.UI {
	return app.Div().Class("actions").Body(app.Button().ID("%s", id).Type("submit").Text(text))
}

// formAlert is the summary at the top of a refused form (the details are beside the fields).
func settingsFormAlert(r *request, f *settingsForm, name string) app.UI {
	if f == nil || f.name != name || len(f.errs) == 0 {
		return nil
	}
	// A refusal of a setting this form has no field for (one stored before a rule existed,
	// say) is spelled out here, where it can be seen.
	var other []app.UI
	for param, msg := range f.errs {
		if _, onForm := f.values[param]; !onForm {
			other = append(other, app.Li().Text(param+": "+msg))
		}
	}
	if len(other) > 0 {
		return app.Div().Class("alert error").Attr("role", "alert").Body(
			app.P().Text(t(r.lang, "settings.err.other")), app.Ul().Body(other...))
	}
	return alert("error", t(r.lang, "settings.err.summary"))
}

// settingsPage is one merchant's settings page.
func settingsPage(r *request, sub string, v *merchants.View, all []*checkout.Merchant, f *settingsForm) app.UI {
	body := []app.UI{settingsChooser(r, sub, v.MerchantID, all), settingsNav(r, sub, v.MerchantID)}
	switch sub {
	case "/keys":
		body = append(body, settingsKeysBody(r, v)...)
	case "/webhook":
		body = append(body, settingsWebhookBody(r, v, f)...)
	case "/receive":
		body = append(body, settingsReceiveBody(r, v, f)...)
	case "/checkout":
		body = append(body, settingsCheckoutBody(r, v, f)...)
	default:
		body = append(body, settingsOverview(r, v)...)
	}
	return page(r, t(r.lang, settingsTitle(sub)), body...)
}

func settingsDL(pairs ...app.UI) app.UI { return app.Dl().Body(pairs...) }

func settingsPair(term string, desc app.UI) []app.UI {
	return []app.UI{app.Dt().Text(term), app.Dd().Body(desc)}
}

func settingsTextOr(s, none string) app.UI {
	if s == "" {
		return app.Span().Class("muted").Text(none)
	}
	return app.Span().Class("mono").Text(s)
}

func settingsOverview(r *request, v *merchants.View) []app.UI {
	active := 0
	for _, k := range v.Keys {
		if k.RevokedAt == nil {
			active++
		}
	}
	var items []app.UI
	items = append(items, settingsPair(t(r.lang, "settings.merchant"), app.Span().ID("settings-merchant").Text(v.Name))...)
	items = append(items, settingsPair(t(r.lang, "settings.merchant.id"), app.Span().Class("mono").Text(v.MerchantID))...)
	items = append(items, settingsPair(t(r.lang, "settings.keys.active"), app.Span().Text(strconv.Itoa(active)))...)
	items = append(items, settingsPair(t(r.lang, "settings.webhook.url"), settingsTextOr(v.WebhookURL, t(r.lang, "settings.none")))...)
	for _, n := range checkout.Networks {
		c, ok := v.Receive[n]
		mode := t(r.lang, "settings.receive.off")
		if ok {
			mode = t(r.lang, "settings.receive.mode."+string(c.Mode))
		}
		items = append(items, settingsPair(t(r.lang, "settings.receive.for", n), app.Span().Text(mode))...)
	}
	items = append(items, settingsPair(t(r.lang, "settings.checkout.ttl"), app.Span().Text(settingsDur(v.OrderTTL)))...)
	items = append(items, settingsPair(t(r.lang, "settings.checkout.hosts"), settingsTextOr(strings.Join(v.ReturnHosts, ", "), t(r.lang, "settings.checkout.anyhost")))...)
	items = append(items, settingsPair(t(r.lang, "settings.checkout.origins"), settingsTextOr(strings.Join(v.EmbedOrigins, ", "), t(r.lang, "settings.none")))...)
	return []app.UI{settingsDL(items...), app.P().Class("hint").Text(t(r.lang, "settings.cache"))}
}

// settingsTime is a time as the pages show it, in UTC; a key made without one shows a dash.
func settingsTime(at time.Time) string {
	if at.IsZero() {
		return "—"
	}
	return at.UTC().Format("2006-01-02 15:04 UTC")
}

// durText shortens a Go duration's text: 30m0s → 30m, 24h0m0s → 24h.
func settingsDur(s string) string {
	if d, err := time.ParseDuration(s); err == nil {
		s = d.String()
	}
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func settingsKeysBody(r *request, v *merchants.View) []app.UI {
	rows := []app.UI{}
	for _, k := range v.Keys {
		state := app.Td().Class("state ok").Text(t(r.lang, "settings.keys.state.active"))
		var actions app.UI = app.Td()
		if k.RevokedAt != nil {
			state = app.Td().Class("state muted").Text(t(r.lang, "settings.keys.state.revoked", settingsTime(*k.RevokedAt)))
		} else {
			actions = app.Td().Class("key-actions").Body(
				app.Form().Class("inline").Method("post").Action("%s", settingsURL(r, "/keys/rotate", v.MerchantID, "")).Body(
					csrfInput(r), app.Input().Type("hidden").Name("key_id").Value(k.KeyID),
					app.Button().Type("submit").Class("secondary").ID("%s", "rotate-"+k.KeyID).
						Aria("label", t(r.lang, "settings.keys.rotate.label", k.KeyID)).Text(t(r.lang, "settings.keys.rotate"))),
				app.Form().Class("inline").Method("post").Action("%s", settingsURL(r, "/keys/revoke", v.MerchantID, "")).Body(
					csrfInput(r), app.Input().Type("hidden").Name("key_id").Value(k.KeyID),
					app.Button().Type("submit").Class("danger").ID("%s", "revoke-"+k.KeyID).
						Aria("label", t(r.lang, "settings.keys.revoke.label", k.KeyID)).Text(t(r.lang, "settings.keys.revoke"))),
			)
		}
		rows = append(rows, app.Tr().ID("%s", "key-"+k.KeyID).Body(
			app.Td().Class("mono").Text(k.KeyID),
			app.Td().Attr("data-label", t(r.lang, "settings.keys.created")).Text(settingsTime(k.CreatedAt)),
			state, actions))
	}
	var table app.UI = app.P().Text(t(r.lang, "settings.keys.none"))
	if len(rows) > 0 {
		table = app.Div().Class("table-wrap").Body(app.Table().ID("keys").Body(
			app.THead().Body(app.Tr().Body(
				app.Th().Scope("col").Text(t(r.lang, "settings.keys.id")),
				app.Th().Scope("col").Text(t(r.lang, "settings.keys.created")),
				app.Th().Scope("col").Text(t(r.lang, "settings.keys.state")),
				app.Th().Scope("col").Text(t(r.lang, "settings.keys.actions")))),
			app.TBody().Body(rows...)))
	}
	return []app.UI{
		app.P().Text(t(r.lang, "settings.keys.intro")),
		table,
		app.P().Class("hint").Text(t(r.lang, "settings.keys.rules")),
		app.P().Class("hint").Text(t(r.lang, "settings.keys.lastused")),
		app.H2().Text(t(r.lang, "settings.keys.new")),
		app.Form().Method("post").Action("%s", settingsURL(r, "/keys", v.MerchantID, "")).Body(
			csrfInput(r),
			app.P().Class("hint").ID("create-key-hint").Text(t(r.lang, "settings.keys.new.hint")),
			app.Div().Class("actions").Body(app.Button().ID("create-key").Type("submit").
				Aria("describedby", "create-key-hint").Text(t(r.lang, "settings.keys.create"))),
		),
	}
}

// settingsSecretPage answers the POST that made a secret: the only time it is shown.
func settingsSecretPage(r *request, v *merchants.View, k *merchants.RotatedKey, s *merchants.RotatedSecret) app.UI {
	var body []app.UI
	back := "/keys"
	if k != nil {
		body = append(body, alert("ok", t(r.lang, "settings.newkey.done")),
			settingsDL(append(settingsPair(t(r.lang, "settings.keys.id"), app.Code().ID("new-key-id").Text(k.KeyID)),
				settingsPair(t(r.lang, "settings.newkey.secret"), app.Code().Class("secret").ID("new-secret").Text(k.Secret))...)...))
		if k.RevokedKeyID != "" {
			body = append(body, app.P().ID("revoked-note").Text(t(r.lang, "settings.newkey.revoked", k.RevokedKeyID)))
		}
	} else {
		back = "/webhook"
		body = append(body, alert("ok", t(r.lang, "settings.newsecret.done")),
			settingsDL(settingsPair(t(r.lang, "settings.newsecret.secret"), app.Code().Class("secret").ID("new-webhook-secret").Text(s.WebhookSecret))...),
			app.P().Text(t(r.lang, "settings.newsecret.overlap", s.PreviousSignsUntil.UTC().Format("2006-01-02 15:04 UTC"))))
	}
	body = append(body, app.P().Class("warn").Text(t(r.lang, "settings.secret.once")),
		app.P().Body(app.A().ID("secret-done").Href("%s", settingsURL(r, back, v.MerchantID, "")).Text(t(r.lang, "settings.secret.done"))))
	title := "settings.title.newkey"
	if k == nil {
		title = "settings.title.newsecret"
	}
	return page(r, t(r.lang, title), body...)
}

func settingsWebhookBody(r *request, v *merchants.View, f *settingsForm) []app.UI {
	hint := t(r.lang, "settings.webhook.hint")
	if v.Dev {
		hint = t(r.lang, "settings.webhook.hint.dev")
	}
	return []app.UI{
		settingsDL(settingsPair(t(r.lang, "settings.webhook.current"), app.Span().ID("webhook-current").Body(settingsTextOr(v.WebhookURL, t(r.lang, "settings.none"))))...),
		settingsFormAlert(r, f, "webhook"),
		app.Form().Method("post").Action("%s", settingsURL(r, "/webhook", v.MerchantID, "")).Attr("novalidate", true).Body(
			csrfInput(r),
			settingsField("webhook_url", "webhook_url", t(r.lang, "settings.webhook.url"), hint, f.err("webhook", "webhook_url"),
				app.Input().Type("url").Required(true).MaxLength(2048).Attr("autocomplete", "url").Attr("spellcheck", false).
					Value(f.val("webhook", "webhook_url", v.WebhookURL))),
			settingsSubmit("webhook-save", t(r.lang, "settings.webhook.save")),
		),
		app.P().Class("hint").Text(t(r.lang, "settings.cache")),
		app.H2().Text(t(r.lang, "settings.webhook.secret")),
		app.P().ID("rotate-secret-hint").Text(t(r.lang, "settings.webhook.secret.hint")),
		app.Form().Method("post").Action("%s", settingsURL(r, "/webhook/secret", v.MerchantID, "")).Body(
			csrfInput(r),
			app.Div().Class("actions").Body(app.Button().ID("rotate-secret").Type("submit").Class("secondary").
				Aria("describedby", "rotate-secret-hint").Text(t(r.lang, "settings.webhook.secret.rotate"))),
		),
	}
}

func settingsReceiveBody(r *request, v *merchants.View, f *settingsForm) []app.UI {
	body := []app.UI{app.P().Text(t(r.lang, "settings.receive.intro"))}
	for _, n := range checkout.Networks {
		id := strings.ToLower(string(n))
		c, configured := v.Receive[n]
		mode := t(r.lang, "settings.receive.off")
		if configured {
			mode = t(r.lang, "settings.receive.mode."+string(c.Mode))
		} else {
			c = checkout.ReceiveConfig{Mode: checkout.ReceiveXPub}
		}
		var info []app.UI
		info = append(info, settingsPair(t(r.lang, "settings.receive.mode"), app.Span().ID("%s", id+"-mode-current").Text(mode))...)
		info = append(info, settingsPair(t(r.lang, "settings.receive.xpub"), settingsTextOr(v.XPubs[n], t(r.lang, "settings.none")))...)
		if len(c.Addresses) > 0 {
			info = append(info, settingsPair(t(r.lang, "settings.receive.addresses"), settingsTextOr(strings.Join(c.Addresses, "\n"), ""))...)
		}
		if configured {
			info = append(info, settingsPair(t(r.lang, "settings.receive.offset"), app.Span().Text(c.Offset().String()+" USDT"))...)
			info = append(info, settingsPair(t(r.lang, "settings.receive.window"), app.Span().Text(settingsDur(c.Window().String())))...)
		}
		xf, rf := "xpub-"+string(n), "receive-"+string(n)
		modeErr := f.err(rf, "mode")
		radios := []app.UI{app.Legend().Text(t(r.lang, "settings.receive.mode"))}
		cur := f.val(rf, "mode", string(c.Mode))
		for _, m := range []checkout.ReceiveMode{checkout.ReceiveXPub, checkout.ReceiveAddresses} {
			rid := id + "-mode-" + string(m)
			in := app.Input().Type("radio").ID("%s", rid).Name("mode").Value(string(m)).Checked(cur == string(m))
			if modeErr != "" {
				in = in.Aria("invalid", "true").Aria("describedby", id+"-mode-error")
			}
			radios = append(radios, app.Div().Class("radio").Body(in,
				app.Label().For(rid).Text(t(r.lang, "settings.receive.mode."+string(m))),
				app.P().Class("hint").Text(t(r.lang, "settings.receive.mode."+string(m)+".hint"))))
		}
		if modeErr != "" {
			radios = append(radios, app.P().Class("field-error").ID("%s", id+"-mode-error").Text(modeErr))
		}
		offset, window := "", ""
		if configured {
			offset, window = c.Offset().String(), settingsDur(c.Window().String())
		}
		body = append(body, app.Section().Class("network").ID("%s", "receive-"+id).Body(
			app.H2().Text(string(n)),
			settingsDL(info...),
			app.H3().Text(t(r.lang, "settings.receive.xpub.title")),
			settingsFormAlert(r, f, xf),
			app.Form().Method("post").Action("%s", settingsURL(r, "/receive/xpub", v.MerchantID, "")).Body(
				csrfInput(r), app.Input().Type("hidden").Name("network").Value(string(n)),
				settingsField(id+"-xpub", "xpub", t(r.lang, "settings.receive.xpub"), t(r.lang, "settings.receive.xpub.hint."+id), f.err(xf, "xpub"),
					app.Input().Type("text").Class("mono").Attr("autocomplete", "off").Attr("spellcheck", false).Attr("autocapitalize", "none").
						MaxLength(200).Value(f.val(xf, "xpub", ""))),
				settingsSubmit(id+"-xpub-save", t(r.lang, "settings.receive.xpub.save")),
			),
			app.H3().Text(t(r.lang, "settings.receive.mode.title")),
			settingsFormAlert(r, f, rf),
			app.Form().Method("post").Action("%s", settingsURL(r, "/receive/mode", v.MerchantID, "")).Body(
				csrfInput(r), app.Input().Type("hidden").Name("network").Value(string(n)),
				app.FieldSet().Body(radios...),
				settingsField(id+"-address", "address", t(r.lang, "settings.receive.addresses"), t(r.lang, "settings.receive.addresses.hint", checkout.MaxReceiveAddresses), f.err(rf, "address"),
					app.Textarea().Class("mono").Rows(4).Spellcheck(false).Text(f.val(rf, "address", ""))),
				settingsField(id+"-max_offset", "max_offset", t(r.lang, "settings.receive.offset"), t(r.lang, "settings.receive.offset.hint"), f.err(rf, "max_offset"),
					app.Input().Type("text").Attr("inputmode", "decimal").MaxLength(20).Value(f.val(rf, "max_offset", offset))),
				settingsField(id+"-late_window", "late_window", t(r.lang, "settings.receive.window"), t(r.lang, "settings.receive.window.hint"), f.err(rf, "late_window"),
					app.Input().Type("text").MaxLength(20).Value(f.val(rf, "late_window", window))),
				settingsSubmit(id+"-receive-save", t(r.lang, "settings.receive.save")),
			),
		))
	}
	return append(body, app.P().Class("hint").Text(t(r.lang, "settings.cache")))
}

func settingsCheckoutBody(r *request, v *merchants.View, f *settingsForm) []app.UI {
	return []app.UI{
		settingsFormAlert(r, f, "checkout"),
		app.Form().Method("post").Action("%s", settingsURL(r, "/checkout", v.MerchantID, "")).Body(
			csrfInput(r),
			settingsField("return_host", "return_host", t(r.lang, "settings.checkout.hosts"), t(r.lang, "settings.checkout.hosts.hint"), f.err("checkout", "return_host"),
				app.Textarea().Class("mono").Rows(3).Spellcheck(false).Text(f.val("checkout", "return_host", strings.Join(v.ReturnHosts, "\n")))),
			settingsField("embed_origin", "embed_origin", t(r.lang, "settings.checkout.origins"), t(r.lang, "settings.checkout.origins.hint"), f.err("checkout", "embed_origin"),
				app.Textarea().Class("mono").Rows(3).Spellcheck(false).Text(f.val("checkout", "embed_origin", strings.Join(v.EmbedOrigins, "\n")))),
			settingsField("order_ttl", "order_ttl", t(r.lang, "settings.checkout.ttl"), t(r.lang, "settings.checkout.ttl.hint"), f.err("checkout", "order_ttl"),
				app.Input().Type("text").MaxLength(20).Value(f.val("checkout", "order_ttl", settingsDur(v.OrderTTL)))),
			settingsSubmit("checkout-save", t(r.lang, "settings.checkout.save")),
		),
		app.P().Class("hint").Text(t(r.lang, "settings.cache")),
	}
}

// settingsBlocklistPage is the operator's sender blocklist, per network.
func settingsBlocklistPage(r *request, lists map[checkout.Network][]string, f *settingsForm) app.UI {
	var opts []app.UI
	for _, n := range checkout.Networks {
		opts = append(opts, app.Option().Value(string(n)).Selected(f.val("block", "network", "") == string(n)).Text(string(n)))
	}
	body := []app.UI{
		settingsNav(r, "/blocklist", string(r.ctx.QueryArgs().Peek("merchant"))),
		app.P().Text(t(r.lang, "settings.blocklist.intro")),
		settingsFormAlert(r, f, "block"), settingsFormAlert(r, f, "unblock"),
		app.Form().Method("post").Action("%s", settingsURL(r, "/blocklist", "", "")).Body(
			csrfInput(r), app.Input().Type("hidden").Name("action").Value("block"),
			settingsField("network", "network", t(r.lang, "settings.blocklist.network"), "", f.err("block", "network"), app.Select().Body(opts...)),
			settingsField("address", "address", t(r.lang, "settings.blocklist.address"), t(r.lang, "settings.blocklist.address.hint"), f.err("block", "address"),
				app.Input().Type("text").Class("mono").MaxLength(100).Attr("autocomplete", "off").Attr("spellcheck", false).Value(f.val("block", "address", ""))),
			settingsSubmit("block-save", t(r.lang, "settings.blocklist.block")),
		),
	}
	for _, n := range checkout.Networks {
		body = append(body, app.H2().Text(string(n)))
		if len(lists[n]) == 0 {
			body = append(body, app.P().Class("muted").ID("%s", "blocked-"+strings.ToLower(string(n))).Text(t(r.lang, "settings.blocklist.none")))
			continue
		}
		var items []app.UI
		for _, a := range lists[n] {
			items = append(items, app.Li().Body(app.Span().Class("mono").Text(a),
				app.Form().Class("inline").Method("post").Action("%s", settingsURL(r, "/blocklist", "", "")).Body(
					csrfInput(r), app.Input().Type("hidden").Name("action").Value("unblock"),
					app.Input().Type("hidden").Name("network").Value(string(n)), app.Input().Type("hidden").Name("address").Value(a),
					app.Button().Type("submit").Class("secondary").Aria("label", t(r.lang, "settings.blocklist.unblock.label", a)).
						Text(t(r.lang, "settings.blocklist.unblock")))))
		}
		body = append(body, app.Ul().Class("blocked").ID("%s", "blocked-"+strings.ToLower(string(n))).Body(items...))
	}
	return page(r, t(r.lang, "settings.title.blocklist"), body...)
}
