package dashboard

import (
	"html"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"
	"rsc.io/qr"

	"github.com/mpchat/checkout/app/ssr"
)

// render writes a whole page: the document shell and content, every value escaped by ssr.
// The only style is the embedded stylesheet (allowed by its hash); there is no script.
func (h *Handler) render(r *request, status int, title string, content app.UI) {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html")
	ssr.Attr(&b, "lang", r.lang)
	b.WriteString(">\n<head>\n")
	head := []app.UI{
		app.Meta().Charset("utf-8"),
		app.Meta().Name("viewport").Content("width=device-width, initial-scale=1"),
		app.Meta().Name("color-scheme").Content("light dark"),
		app.Meta().Name("robots").Content("noindex"),
		app.Meta().Name("referrer").Content("same-origin"),
		app.Title().Text(title + " · " + t(r.lang, "brand")),
		app.Style().Text(styleCSS),
	}
	body := app.Div().Body(
		app.A().Class("skip").Href("#main").Text(t(r.lang, "skip")),
		app.Header().Body(
			app.Span().Class("brand").Text(t(r.lang, "brand")),
			nav(r),
			app.A().Href("%s", langSwitch(r)).Attr("lang", otherLang(r.lang)).Attr("hreflang", otherLang(r.lang)).Text(t(r.lang, "lang.other")),
		),
		content,
	)
	for _, el := range head {
		if err := ssr.Write(&b, el); err != nil {
			h.fail(r, err)
			return
		}
		b.WriteByte('\n')
	}
	b.WriteString("</head>\n<body>\n")
	if err := ssr.Write(&b, body); err != nil {
		h.fail(r, err)
		return
	}
	b.WriteString("\n</body>\n</html>\n")
	r.ctx.SetStatusCode(status)
	r.ctx.SetContentType("text/html; charset=utf-8")
	r.ctx.SetBodyString(b.String())
}

// sections are the dashboard's areas, in the navigation's order: path under Path, text key,
// and whether only operators see it.
var sections = []struct {
	path, key string
	operator  bool
}{
	{"/orders", "nav.orders", false},
	{"/attention", "nav.attention", false},
	{"/numbers", "nav.numbers", false},
	{"/settings", "nav.settings", false},
	{"/operator", "nav.operator", true},
}

// nav links the dashboard's areas once signed in; the current one is marked for assistive
// technology (aria-current) and styled from that.
func nav(r *request) app.UI {
	if r.cur == nil {
		return nil
	}
	path := string(r.ctx.Path())
	var items []app.UI
	for _, s := range sections {
		if s.operator && !r.cur.User.Operator {
			continue
		}
		a := app.A().Href("%s", Path+s.path+"?lang="+r.lang).Text(t(r.lang, s.key))
		if path == Path+s.path || strings.HasPrefix(path, Path+s.path+"/") {
			a = a.Aria("current", "page")
		}
		items = append(items, app.Li().Body(a))
	}
	return app.Nav().Aria("label", t(r.lang, "nav.label")).Body(app.Ul().Body(items...))
}

// fail answers a page that could not be rendered (a go-app change ssr refuses): plain text,
// nothing from the request in it.
func (h *Handler) fail(r *request, err error) {
	h.cfg.Log.Error("dashboard page", "path", string(r.ctx.Path()), "err", err)
	r.ctx.SetStatusCode(fasthttp.StatusInternalServerError)
	r.ctx.SetContentType("text/plain; charset=utf-8")
	r.ctx.SetBodyString("internal error\n")
}

// langSwitch is the current page in the other language (its query kept: a set-password link
// keeps its token).
func langSwitch(r *request) string {
	q := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(q)
	r.ctx.QueryArgs().CopyTo(q)
	q.Del("m")
	q.Set("lang", otherLang(r.lang))
	return string(r.ctx.Path()) + "?" + q.String()
}

// action is a form's target: a dashboard path with the page's language.
func action(r *request, path string) string {
	return path + "?lang=" + r.lang
}

func card(r *request, wide bool, title string, body ...app.UI) app.UI {
	cls := "card"
	main := app.Main().ID("main")
	if wide {
		main = main.Class("wide")
	}
	return main.Body(app.Div().Class(cls).Body(append([]app.UI{app.H1().Text(title)}, body...)...))
}

// page is a signed-in page's content at full width (lists and tables), with its notice.
func page(r *request, title string, body ...app.UI) app.UI {
	return app.Main().ID("main").Class("full").Body(
		app.Div().Class("card").Body(append([]app.UI{app.H1().Text(title), notice(r)}, body...)...))
}

func alert(kind, msg string) app.UI {
	if msg == "" {
		return nil
	}
	role := "status"
	if kind == "error" {
		role = "alert"
	}
	return app.P().Class("alert "+kind).Attr("role", role).Text(msg)
}

// messages are the notices a redirect may ask a page to show (?m=…); anything else shows
// nothing, so no text can be injected through the URL.
var messages = map[string]string{
	"pwset": "msg.pwset", "signedout": "msg.signedout", "signedoutall": "msg.signedoutall",
	"totp": "msg.totp", "expired": "msg.expired",
}

// addMessages adds an area's notices (from its file's init).
func addMessages(more map[string]string) {
	for k, v := range more {
		if _, dup := messages[k]; dup {
			panic("dashboard: notice " + k + " defined twice")
		}
		messages[k] = v
	}
}

func notice(r *request) app.UI {
	key, ok := messages[string(r.ctx.QueryArgs().Peek("m"))]
	if !ok {
		return nil
	}
	return alert("ok", t(r.lang, key))
}

func field(id, label, hint string, input app.HTMLInput) app.UI {
	input = input.ID(id).Name(id)
	var hintEl app.UI
	if hint != "" {
		input = input.Aria("describedby", id+"-hint")
		hintEl = app.P().Class("hint").ID(id + "-hint").Text(hint)
	}
	return app.Div().Body(app.Label().For(id).Text(label), input, hintEl)
}

func csrfInput(r *request) app.UI {
	return app.Input().Type("hidden").Name("csrf").Value(r.cur.Session.CSRF)
}

func loginPage(r *request, email, errMsg string) app.UI {
	return card(r, false, t(r.lang, "title.login"),
		notice(r), alert("error", errMsg),
		app.Form().Method("post").Action("%s", action(r, Path+"/login")).Body(
			field("email", t(r.lang, "email"), "", app.Input().Type("email").Required(true).MaxLength(254).
				Attr("autocomplete", "username").Attr("autocapitalize", "none").Value(email).AutoFocus(email == "")),
			field("password", t(r.lang, "password"), "", app.Input().Type("password").Required(true).
				MaxLength(1024).Attr("autocomplete", "current-password").AutoFocus(email != "")),
			field("code", t(r.lang, "code"), t(r.lang, "code.hint"), app.Input().Type("text").
				Attr("inputmode", "numeric").Attr("autocomplete", "one-time-code").Pattern("[0-9]{6}").MaxLength(6)),
			app.Div().Class("actions").Body(app.Button().Type("submit").Text(t(r.lang, "login.button"))),
		),
	)
}

func setPasswordPage(r *request, token, email, errMsg string) app.UI {
	return card(r, false, t(r.lang, "title.setpw"),
		alert("error", errMsg),
		app.P().Text(t(r.lang, "setpw.for", email)),
		app.Form().Method("post").Action("%s", action(r, Path+"/set-password")).Body(
			app.Input().Type("hidden").Name("token").Value(token),
			// A hidden username lets password managers file the new password under the account.
			app.Input().Type("hidden").Name("username").Attr("autocomplete", "username").Value(email),
			field("password", t(r.lang, "setpw.new"), t(r.lang, "setpw.rules"), app.Input().Type("password").Required(true).
				Attr("minlength", 12).MaxLength(1024).Attr("autocomplete", "new-password").AutoFocus(true)),
			field("confirm", t(r.lang, "setpw.repeat"), "", app.Input().Type("password").Required(true).
				Attr("minlength", 12).MaxLength(1024).Attr("autocomplete", "new-password")),
			app.Div().Class("actions").Body(app.Button().Type("submit").Text(t(r.lang, "setpw.button"))),
		),
	)
}

func errorPage(r *request, msg string) app.UI {
	return card(r, false, t(r.lang, "title.error"),
		alert("error", msg),
		app.P().Body(app.A().Href("%s", Path+"?lang="+r.lang).Text(t(r.lang, "back"))),
	)
}

// homePage is the signed-in landing page: who is signed in, for which merchant (an operator:
// every merchant's name), the second factor's state, and the sign-out buttons.
func homePage(r *request, merchantName string, operatorMerchants []string) app.UI {
	u := r.cur.User
	info := []app.UI{app.Dt().Text(t(r.lang, "email")), app.Dd().ID("user-email").Text(u.Email)}
	if !u.Operator {
		info = append(info, app.Dt().Text(t(r.lang, "home.merchant")), app.Dd().ID("merchant-name").Text(merchantName))
	}
	body := []app.UI{notice(r), app.P().Text(t(r.lang, "home.user", u.Email)), app.Dl().Body(info...)}
	if u.Operator {
		body = append(body, app.P().ID("operator").Text(t(r.lang, "home.operator")), app.H2().Text(t(r.lang, "home.merchants")))
		if len(operatorMerchants) == 0 {
			body = append(body, app.P().Text(t(r.lang, "home.none")))
		} else {
			items := make([]app.UI, len(operatorMerchants))
			for i, n := range operatorMerchants {
				items[i] = app.Li().Text(n)
			}
			body = append(body, app.Ul().Class("merchants").Body(items...))
		}
	}
	if u.TOTPEnrolled() {
		body = append(body, app.P().ID("totp-state").Text(t(r.lang, "home.totp.on")))
	} else {
		body = append(body, app.P().ID("totp-state").Body(app.Text(t(r.lang, "home.totp.off")+" "),
			app.A().ID("totp-setup").Href("%s", Path+"/totp?lang="+r.lang).Text(t(r.lang, "home.totp.setup"))))
	}
	body = append(body,
		app.Div().Class("actions").Body(
			app.Form().Class("inline").Method("post").Action("%s", action(r, Path+"/logout")).Body(
				csrfInput(r), app.Button().ID("signout").Type("submit").Class("secondary").Text(t(r.lang, "home.signout"))),
			app.Form().Class("inline").Method("post").Action("%s", action(r, Path+"/logout-all")).Body(
				csrfInput(r), app.Button().ID("signout-all").Type("submit").Class("danger").
					Aria("describedby", "signout-all-hint").Text(t(r.lang, "home.signoutall"))),
			app.P().Class("hint").ID("signout-all-hint").Text(t(r.lang, "home.signoutall.hint")),
		),
	)
	return card(r, true, t(r.lang, "title.home"), body...)
}

// totpPage shows a secret being enrolled (QR code, key, a link for authenticator apps on the
// same phone) and the form confirming it with a code.
func totpPage(r *request, secret, uri, errMsg string) (app.UI, error) {
	svg, err := qrSVG(uri, t(r.lang, "totp.qr"))
	if err != nil {
		return nil, err
	}
	return card(r, false, t(r.lang, "title.totp"),
		alert("error", errMsg),
		app.P().Text(t(r.lang, "totp.scan")),
		app.Div().Class("qr").Body(app.Raw(svg)),
		app.P().Body(app.Text(t(r.lang, "totp.key")+": "), app.Code().Class("secret").ID("totp-secret").Text(groups(secret))),
		app.P().Body(app.A().Href("%s", uri).Text(t(r.lang, "totp.open"))),
		app.Form().Method("post").Action("%s", action(r, Path+"/totp")).Body(
			csrfInput(r),
			field("code", t(r.lang, "totp.confirm"), "", app.Input().Type("text").Required(true).
				Attr("inputmode", "numeric").Attr("autocomplete", "one-time-code").Pattern("[0-9]{6}").MaxLength(6).AutoFocus(true)),
			app.Div().Class("actions").Body(app.Button().Type("submit").Text(t(r.lang, "totp.button"))),
		),
		app.P().Body(app.A().Href("%s", Path+"?lang="+r.lang).Text(t(r.lang, "back"))),
	), nil
}

// groups writes a base32 key in groups of four, as authenticator apps show it.
func groups(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// qrSVG draws text as a QR code (level M, rsc.io/qr) in an inline SVG: one path of dark
// runs on a white quiet zone of 4 modules, so no image request is needed and the CSP stays
// without img sources beyond 'self'.
func qrSVG(text, label string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", err
	}
	const quiet = 4
	n := strconv.Itoa(code.Size + 2*quiet)
	var d strings.Builder
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; {
			if !code.Black(x, y) {
				x++
				continue
			}
			start := x
			for x < code.Size && code.Black(x, y) {
				x++
			}
			d.WriteString("M" + strconv.Itoa(start+quiet) + " " + strconv.Itoa(y+quiet) + "h" + strconv.Itoa(x-start) + "v1h-" + strconv.Itoa(x-start) + "z")
		}
	}
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + " " + n + `" role="img" aria-label="` +
		html.EscapeString(label) + `" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/>` +
		`<path fill="#000" d="` + d.String() + `"/></svg>`, nil
}
