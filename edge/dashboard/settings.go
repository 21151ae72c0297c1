package dashboard

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/merchants"
	"github.com/mpchat/checkout/edge/store"
)

// Settings is what the settings pages need from the store: what edge/merchants changes a
// merchant through (the same functions, so the same rules, as `edge merchant …`), and the
// audit log.
type Settings interface {
	merchants.Store
	AppendAudit(ctx context.Context, merchantID string, e store.AuditEntry) error
}

// Audit actions of the settings pages. Details name what changed, never a secret.
const (
	ActionKeyCreated           = "settings.key_created"
	ActionKeyRotated           = "settings.key_rotated"
	ActionKeyRevoked           = "settings.key_revoked"
	ActionWebhookURLChanged    = "settings.webhook_url_changed"
	ActionWebhookSecretRotated = "settings.webhook_secret_rotated"
	ActionXPubSet              = "settings.xpub_set"
	ActionReceiveSet           = "settings.receive_set"
	ActionCheckoutChanged      = "settings.checkout_changed"
	ActionSenderBlocked        = "blocklist.blocked"
	ActionSenderUnblocked      = "blocklist.unblocked"
)

const settingsPath = Path + "/settings"

func init() {
	addMessages(map[string]string{
		"keyrevoked": "settings.msg.keyrevoked", "webhookset": "settings.msg.webhookset",
		"xpubset": "settings.msg.xpubset", "receiveset": "settings.msg.receiveset",
		"checkoutset": "settings.msg.checkoutset", "blocked": "settings.msg.blocked",
		"unblocked": "settings.msg.unblocked",
	})
}

func (h *Handler) settingsRoutes(r *router.Router) {
	if h.cfg.Store == nil {
		return // sign-in only (tests of it)
	}
	r.GET(settingsPath, h.wrap(h.settingsHome, signedIn))
	r.GET(settingsPath+"/keys", h.wrap(h.settingsKeys, signedIn))
	r.POST(settingsPath+"/keys", h.wrap(h.settingsKeyCreate, postSignedIn))
	r.POST(settingsPath+"/keys/rotate", h.wrap(h.settingsKeyRotate, postSignedIn))
	r.POST(settingsPath+"/keys/revoke", h.wrap(h.settingsKeyRevoke, postSignedIn))
	r.GET(settingsPath+"/webhook", h.wrap(h.settingsWebhook, signedIn))
	r.POST(settingsPath+"/webhook", h.wrap(h.settingsWebhookSet, postSignedIn))
	r.POST(settingsPath+"/webhook/secret", h.wrap(h.settingsWebhookSecret, postSignedIn))
	r.GET(settingsPath+"/receive", h.wrap(h.settingsReceive, signedIn))
	r.POST(settingsPath+"/receive/xpub", h.wrap(h.settingsXPubSet, postSignedIn))
	r.POST(settingsPath+"/receive/mode", h.wrap(h.settingsReceiveSet, postSignedIn))
	r.GET(settingsPath+"/checkout", h.wrap(h.settingsCheckout, signedIn))
	r.POST(settingsPath+"/checkout", h.wrap(h.settingsCheckoutSet, postSignedIn))
	r.GET(settingsPath+"/blocklist", h.wrap(h.settingsBlocklist, signedIn))
	r.POST(settingsPath+"/blocklist", h.wrap(h.settingsBlocklistSet, postSignedIn))
}

// settingsMerchant is the merchant a settings request is about, as merchants.Show sees it
// (no secrets): the user's own, or for an operator the one ?merchant= names (nil, true when
// an operator has not chosen one yet). A merchant's user naming another merchant, or an
// operator naming an unknown one, gets 404 (written here; ok is then false).
func (h *Handler) settingsMerchant(r *request) (v *merchants.View, ok bool, err error) {
	id, ok := scopeID(r)
	switch {
	case !ok:
		h.settingsNotFound(r)
		return nil, false, nil
	case r.cur.User.Operator && id == "":
		return nil, true, nil
	}
	if id == "" {
		h.settingsNotFound(r)
		return nil, false, nil
	}
	v, err = merchants.Show(r.ctx, h.cfg.Store, id)
	if errors.Is(err, checkout.ErrNotFound) {
		h.settingsNotFound(r)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// settingsTarget is settingsMerchant for a form's POST: an operator must have chosen a
// merchant (the form's action names it).
func (h *Handler) settingsTarget(r *request) (*merchants.View, bool, error) {
	v, ok, err := h.settingsMerchant(r)
	if err == nil && ok && v == nil {
		h.settingsNotFound(r)
		return nil, false, nil
	}
	return v, ok, err
}

func (h *Handler) settingsNotFound(r *request) {
	h.render(r, fasthttp.StatusNotFound, t(r.lang, "title.error"), errorPage(r, t(r.lang, "err.notfound")))
}

// settingsURL is a settings page's address with the page's language and, for an operator,
// the merchant: relative, built from our own values only.
func settingsURL(r *request, sub, merchantID, msg string) string {
	q := url.Values{}
	if msg != "" {
		q.Set("m", msg)
	}
	q.Set("lang", r.lang)
	if r.cur.User.Operator && merchantID != "" {
		q.Set("merchant", merchantID)
	}
	return settingsPath + sub + "?" + q.Encode()
}

// settingsRedirect answers a form that changed something: 303 to its page with a notice.
func (h *Handler) settingsRedirect(r *request, sub, merchantID, msg string) {
	r.ctx.Response.Header.Set("Location", settingsURL(r, sub, merchantID, msg))
	r.ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

// settingsAudit records a change in the merchant's audit log ("" = the operators'): who,
// what, when, from where. detail never holds a secret. A failure to record is logged: the
// change is made by then, and a new secret must still reach the user who asked for it.
func (h *Handler) settingsAudit(r *request, merchantID, action, detail string) {
	e := store.AuditEntry{At: time.Now().UTC(), Actor: r.cur.User.Email, UserID: r.cur.User.ID, Action: action, Detail: detail}
	if r.ip.IsValid() {
		e.IP = r.ip.String()
	}
	if err := h.cfg.Store.AppendAudit(context.WithoutCancel(r.ctx), merchantID, e); err != nil {
		h.cfg.Log.Error("dashboard: cannot write the audit log", "merchant_id", merchantID, "action", action, "err", err)
	}
}

// settingsForm is a posted form shown again: which one, what was typed, and each refused
// field's message (by the edge/merchants parameter it names).
type settingsForm struct {
	name   string
	values map[string]string
	errs   map[string]string
}

// val is what the field shows: what was posted when this form was, else def.
func (f *settingsForm) val(form, key, def string) string {
	if f != nil && f.name == form {
		return f.values[key]
	}
	return def
}

func (f *settingsForm) err(form, param string) string {
	if f != nil && f.name == form {
		return f.errs[param]
	}
	return ""
}

// postedForm reads the named fields of a POST.
func settingsPosted(r *request, name string, keys ...string) *settingsForm {
	f := &settingsForm{name: name, values: map[string]string{}, errs: map[string]string{}}
	for _, k := range keys {
		f.values[k] = string(r.ctx.PostArgs().Peek(k))
	}
	return f
}

// refuse explains err beside the field it names, when it is a refusal of the input (an
// edge/merchants InvalidError, a taken xpub or address), and reports whether it was.
func (f *settingsForm) refuse(lang string, err error) bool {
	var inv *merchants.InvalidError
	switch {
	case errors.As(err, &inv):
		f.errs[inv.Param] = t(lang, "settings.err.field", inv.Message)
	case errors.Is(err, store.ErrXPubInUse):
		f.errs["xpub"] = t(lang, "settings.err.xpubinuse")
	case errors.Is(err, store.ErrAddressOwned):
		f.errs["address"] = t(lang, "settings.err.addressowned")
	default:
		return false
	}
	return true
}

// lines splits a text area into its entries: one a line (commas separate too), trimmed,
// empty ones dropped.
func settingsLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handler) settingsHome(r *request) error {
	v, ok, err := h.settingsMerchant(r)
	if !ok || err != nil {
		return err
	}
	return h.settingsShow(r, fasthttp.StatusOK, "", v, nil)
}

// settingsShow renders a merchant's settings page (sub is its path under
// /dashboard/settings) for v (nil: an operator who has not chosen a merchant yet), with a
// refused form shown again.
func (h *Handler) settingsShow(r *request, status int, sub string, v *merchants.View, f *settingsForm) error {
	var all []*checkout.Merchant
	if r.cur.User.Operator {
		var err error
		if all, err = h.cfg.Store.Merchants(r.ctx); err != nil {
			return err
		}
	}
	if v == nil {
		h.render(r, status, t(r.lang, "settings.title"), settingsChoosePage(r, sub, all))
		return nil
	}
	h.render(r, status, t(r.lang, settingsTitle(sub)), settingsPage(r, sub, v, all, f))
	return nil
}

// --- API keys ---

func (h *Handler) settingsKeys(r *request) error {
	v, ok, err := h.settingsMerchant(r)
	if !ok || err != nil {
		return err
	}
	return h.settingsShow(r, fasthttp.StatusOK, "/keys", v, nil)
}

// settingsKeyCreate adds an API key (edge merchant rotate-key without --revoke) and shows
// its secret on this answer only: never in a URL, the log or the audit log.
func (h *Handler) settingsKeyCreate(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	k, err := merchants.RotateKey(r.ctx, h.cfg.Store, v.MerchantID, "")
	if err != nil {
		return err
	}
	h.settingsAudit(r, v.MerchantID, ActionKeyCreated, k.KeyID)
	h.render(r, fasthttp.StatusOK, t(r.lang, "settings.title.newkey"), settingsSecretPage(r, v, k, nil))
	return nil
}

// settingsKeyRotate is edge merchant rotate-key --revoke: a new key, and the old one revoked
// at once.
func (h *Handler) settingsKeyRotate(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	old := string(r.ctx.PostArgs().Peek("key_id"))
	if !settingsHasKey(v, old) {
		h.settingsNotFound(r)
		return nil
	}
	k, err := merchants.RotateKey(r.ctx, h.cfg.Store, v.MerchantID, old)
	if errors.Is(err, checkout.ErrNotFound) || errors.Is(err, merchants.ErrKeyOfAnotherMerchant) {
		h.settingsNotFound(r)
		return nil
	}
	if err != nil {
		return err
	}
	h.settingsAudit(r, v.MerchantID, ActionKeyRotated, k.KeyID+" replaces "+old+" (revoked)")
	h.render(r, fasthttp.StatusOK, t(r.lang, "settings.title.newkey"), settingsSecretPage(r, v, k, nil))
	return nil
}

func (h *Handler) settingsKeyRevoke(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	id := string(r.ctx.PostArgs().Peek("key_id"))
	if !settingsHasKey(v, id) {
		h.settingsNotFound(r)
		return nil
	}
	_, err = merchants.RevokeMerchantKey(r.ctx, h.cfg.Store, v.MerchantID, id)
	if errors.Is(err, checkout.ErrNotFound) || errors.Is(err, merchants.ErrKeyOfAnotherMerchant) {
		h.settingsNotFound(r)
		return nil
	}
	if err != nil {
		return err
	}
	h.settingsAudit(r, v.MerchantID, ActionKeyRevoked, id)
	h.settingsRedirect(r, "/keys", v.MerchantID, "keyrevoked")
	return nil
}

// settingsHasKey: a key of another merchant (or none) is not found, before any lookup.
func settingsHasKey(v *merchants.View, id string) bool {
	for _, k := range v.Keys {
		if k.KeyID == id {
			return true
		}
	}
	return false
}

// --- Webhook ---

func (h *Handler) settingsWebhook(r *request) error {
	v, ok, err := h.settingsMerchant(r)
	if !ok || err != nil {
		return err
	}
	return h.settingsShow(r, fasthttp.StatusOK, "/webhook", v, nil)
}

// settingsWebhookSet is edge merchant set --webhook-url, with the merchant's own development
// mode (http to loopback hosts only for a development merchant).
func (h *Handler) settingsWebhookSet(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	f := settingsPosted(r, "webhook", "webhook_url")
	u := strings.TrimSpace(f.values["webhook_url"])
	if u == "" {
		f.errs["webhook_url"] = t(r.lang, "settings.err.required")
		return h.settingsShow(r, fasthttp.StatusBadRequest, "/webhook", v, f)
	}
	_, err = merchants.Set(r.ctx, h.cfg.Store, merchants.SetParams{ID: v.MerchantID, Settings: merchants.Settings{WebhookURL: u}, Dev: v.Dev})
	if f.refuse(r.lang, err) {
		return h.settingsShow(r, fasthttp.StatusBadRequest, "/webhook", v, f)
	}
	if err != nil {
		return err
	}
	// The host only: a URL's path or query may carry the merchant's own token.
	host := u
	if p, err := url.Parse(u); err == nil {
		host = p.Host
	}
	h.settingsAudit(r, v.MerchantID, ActionWebhookURLChanged, "host "+host)
	h.settingsRedirect(r, "/webhook", v.MerchantID, "webhookset")
	return nil
}

// settingsWebhookSecret is edge merchant rotate-webhook-secret: the new secret is shown on
// this answer only; the previous one keeps signing for checkout.WebhookSecretOverlap.
func (h *Handler) settingsWebhookSecret(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	s, err := merchants.RotateWebhookSecret(r.ctx, h.cfg.Store, v.MerchantID)
	if err != nil {
		return err
	}
	h.settingsAudit(r, v.MerchantID, ActionWebhookSecretRotated, "previous secret signs until "+s.PreviousSignsUntil.Format(time.RFC3339))
	h.render(r, fasthttp.StatusOK, t(r.lang, "settings.title.newsecret"), settingsSecretPage(r, v, nil, s))
	return nil
}

// --- Receive ---

func (h *Handler) settingsReceive(r *request) error {
	v, ok, err := h.settingsMerchant(r)
	if !ok || err != nil {
		return err
	}
	return h.settingsShow(r, fasthttp.StatusOK, "/receive", v, nil)
}

// postedNetwork is the network a per-network form names, as checkout parses it; anything
// else is not a form of this page.
func settingsNetwork(r *request) (checkout.Network, bool) {
	n, err := checkout.ParseNetwork(string(r.ctx.PostArgs().Peek("network")))
	return n, err == nil
}

// settingsXPubSet is edge merchant set-xpub.
func (h *Handler) settingsXPubSet(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	n, ok := settingsNetwork(r)
	if !ok {
		h.settingsNotFound(r)
		return nil
	}
	f := settingsPosted(r, "xpub-"+string(n), "xpub")
	x := strings.TrimSpace(f.values["xpub"])
	if x == "" {
		f.errs["xpub"] = t(r.lang, "settings.err.required")
		return h.settingsShow(r, fasthttp.StatusBadRequest, "/receive", v, f)
	}
	res, err := merchants.SetXPub(r.ctx, h.cfg.Store, v.MerchantID, string(n), x)
	if f.refuse(r.lang, err) {
		return h.settingsShow(r, fasthttp.StatusBadRequest, "/receive", v, f)
	}
	if err != nil {
		return err
	}
	h.settingsAudit(r, v.MerchantID, ActionXPubSet, string(n)+" xpub …"+res.XPub[max(0, len(res.XPub)-8):])
	h.settingsRedirect(r, "/receive", v.MerchantID, "xpubset")
	return nil
}

// settingsReceiveSet is edge merchant set-receive: the mode, the merchant's own addresses
// (one a line; empty keeps the list), the offset cap and the late-funds window.
func (h *Handler) settingsReceiveSet(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	n, ok := settingsNetwork(r)
	if !ok {
		h.settingsNotFound(r)
		return nil
	}
	f := settingsPosted(r, "receive-"+string(n), "mode", "address", "max_offset", "late_window")
	p := merchants.ReceiveParams{ID: v.MerchantID, Network: string(n), Mode: f.values["mode"],
		Addresses: settingsLines(f.values["address"]), MaxOffset: strings.TrimSpace(f.values["max_offset"])}
	if w := strings.TrimSpace(f.values["late_window"]); w != "" {
		if p.LateWindow, err = merchants.ParseDuration("late_window", w); f.refuse(r.lang, err) {
			return h.settingsShow(r, fasthttp.StatusBadRequest, "/receive", v, f)
		}
	}
	res, err := merchants.SetReceive(r.ctx, h.cfg.Store, p)
	if f.refuse(r.lang, err) {
		return h.settingsShow(r, fasthttp.StatusBadRequest, "/receive", v, f)
	}
	if err != nil {
		return err
	}
	c := res.Receive
	h.settingsAudit(r, v.MerchantID, ActionReceiveSet, string(n)+" mode "+string(c.Mode)+"; addresses "+strings.Join(c.Addresses, " ")+
		"; max offset "+c.Offset().String()+"; late window "+c.Window().String())
	h.settingsRedirect(r, "/receive", v.MerchantID, "receiveset")
	return nil
}

// --- Checkout: return hosts, embed origins, order TTL ---

func (h *Handler) settingsCheckout(r *request) error {
	v, ok, err := h.settingsMerchant(r)
	if !ok || err != nil {
		return err
	}
	return h.settingsShow(r, fasthttp.StatusOK, "/checkout", v, nil)
}

// settingsCheckoutSet is edge merchant set --clear-return-hosts --return-host …
// --clear-embed-origins --embed-origin … --order-ttl: the lists are replaced by the form's.
func (h *Handler) settingsCheckoutSet(r *request) error {
	v, ok, err := h.settingsTarget(r)
	if !ok || err != nil {
		return err
	}
	f := settingsPosted(r, "checkout", "return_host", "embed_origin", "order_ttl")
	p := merchants.SetParams{ID: v.MerchantID, ClearReturnHosts: true, ClearEmbedOrigins: true, Dev: v.Dev,
		Settings: merchants.Settings{ReturnHosts: settingsLines(f.values["return_host"]), EmbedOrigins: settingsLines(f.values["embed_origin"])}}
	if ttl := strings.TrimSpace(f.values["order_ttl"]); ttl != "" {
		if p.OrderTTL, err = merchants.ParseDuration("order_ttl", ttl); f.refuse(r.lang, err) {
			return h.settingsShow(r, fasthttp.StatusBadRequest, "/checkout", v, f)
		}
	}
	nv, err := merchants.Set(r.ctx, h.cfg.Store, p)
	if f.refuse(r.lang, err) {
		return h.settingsShow(r, fasthttp.StatusBadRequest, "/checkout", v, f)
	}
	if err != nil {
		return err
	}
	h.settingsAudit(r, v.MerchantID, ActionCheckoutChanged, "return hosts "+strings.Join(nv.ReturnHosts, " ")+
		"; embed origins "+strings.Join(nv.EmbedOrigins, " ")+"; order ttl "+nv.OrderTTL)
	h.settingsRedirect(r, "/checkout", v.MerchantID, "checkoutset")
	return nil
}

// --- Blocklist (the operator's, for every merchant) ---

// settingsBlocklist: the sender blocklist freezes orders of every merchant, so only
// operators see and change it; a merchant's user gets 404.
func (h *Handler) settingsBlocklist(r *request) error {
	if !r.cur.User.Operator {
		h.settingsNotFound(r)
		return nil
	}
	return h.settingsShowBlocklist(r, fasthttp.StatusOK, nil)
}

func (h *Handler) settingsShowBlocklist(r *request, status int, f *settingsForm) error {
	lists := map[checkout.Network][]string{}
	for _, n := range checkout.Networks {
		b, err := merchants.Blocked(r.ctx, h.cfg.Store, string(n))
		if err != nil {
			return err
		}
		lists[n] = b.Addresses
	}
	h.render(r, status, t(r.lang, "settings.title.blocklist"), settingsBlocklistPage(r, lists, f))
	return nil
}

// settingsBlocklistSet is edge merchant block / unblock.
func (h *Handler) settingsBlocklistSet(r *request) error {
	if !r.cur.User.Operator {
		h.settingsNotFound(r)
		return nil
	}
	f := settingsPosted(r, "block", "network", "address", "action")
	var res *merchants.BlockedSender
	var err error
	switch f.values["action"] {
	case "block":
		if strings.TrimSpace(f.values["address"]) == "" {
			f.errs["address"] = t(r.lang, "settings.err.required")
			return h.settingsShowBlocklist(r, fasthttp.StatusBadRequest, f)
		}
		res, err = merchants.Block(r.ctx, h.cfg.Store, f.values["network"], strings.TrimSpace(f.values["address"]))
	case "unblock":
		// The unblock buttons have no fields to mark: a refusal is spelled out in the alert.
		network, address := f.values["network"], f.values["address"]
		f = &settingsForm{name: "unblock", values: map[string]string{}, errs: map[string]string{}}
		res, err = merchants.Unblock(r.ctx, h.cfg.Store, network, address)
	default:
		h.settingsNotFound(r)
		return nil
	}
	if f.refuse(r.lang, err) {
		return h.settingsShowBlocklist(r, fasthttp.StatusBadRequest, f)
	}
	if err != nil {
		return err
	}
	action, msg := ActionSenderBlocked, "blocked"
	if !res.Blocked {
		action, msg = ActionSenderUnblocked, "unblocked"
	}
	h.settingsAudit(r, "", action, string(res.Network)+" "+res.Address)
	h.settingsRedirect(r, "/blocklist", "", msg)
	return nil
}
