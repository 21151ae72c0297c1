package widget

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// StateElementID is the id of the <script type="application/json"> element in the page's head
// that carries the State the edge rendered with; the wasm starts from it.
const StateElementID = "mp-state"

// Embed modes, from the page's ?embed= parameter (set by embed.js).
const (
	EmbedNone   = ""       // the hosted page, or a plain iframe
	EmbedInline = "inline" // embed.js mounted the checkout in an element of the host page
	EmbedModal  = "modal"  // embed.js opened the checkout in a modal over the host page
)

// State is everything the checkout renders from. The edge builds it per request from the
// customer-safe view of the order (never the merchant's order object) and the page's options;
// it is embedded in the page as JSON, so nothing in it may be secret.
type State struct {
	Order checkout.CheckoutView `json:"order"`
	// Lang is one of the Locales' codes.
	Lang string `json:"lang"`
	// Explorers are the block explorers' transaction pages per network, with {tx} for the
	// hash (the edge's settings); a network without one shows the hash alone.
	Explorers map[checkout.Network]string `json:"explorers,omitempty"`
	// Titles are the status titles in Lang, for the page's live script: it shows a new
	// status at once, before the edge's render of it arrives.
	Titles map[checkout.Status]string `json:"titles,omitempty"`
	// Token and ChainID name the USDT contract and chain of an ERC20 order for its EIP-681
	// QR code (empty for TRC20: its QR code is the address).
	Token   string `json:"token,omitempty"`
	ChainID uint64 `json:"chain_id,omitempty"`
	// ReturnTo is the merchant's return_url with order_id appended, or empty when the order
	// has none or its host is no longer allowed.
	ReturnTo string `json:"return_to,omitempty"`
	// ReturnDelay is the visible pause before a terminal status sends the customer back.
	ReturnDelay time.Duration `json:"return_delay"`
	// MPChat is set when the page is open in the MPChat app (user agent contains "MPChat");
	// OpenApp asks the checkout to open the deep link at once.
	MPChat  bool `json:"mpchat"`
	OpenApp bool `json:"open_app"`
	// Embed is one of the Embed* modes.
	Embed string `json:"embed"`
	// HostRedirect leaves the terminal redirect to the host page (?redirect=host): a framed
	// checkout then only reports the status.
	HostRedirect bool `json:"host_redirect"`
	// Origins are the merchant's allowed embed origins: the only targets of postMessage and
	// the only senders whose messages the checkout accepts.
	Origins []string `json:"origins"`
	// DevPayURL is set only by an edge in development mode (--dev-pay-url): the dev-chain
	// payer the checkout's clearly marked DEV ONLY control posts the order to.
	DevPayURL string `json:"dev_pay_url,omitempty"`
	// Now is the edge's clock when it rendered, so countdowns agree with the edge, not with
	// a customer's wrong clock.
	Now time.Time `json:"now"`
}

// Allowed reports whether origin is one of the merchant's embed origins.
func (s *State) Allowed(origin string) bool {
	for _, o := range s.Origins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// PayURI is what a wallet should scan for the order: for ERC20 an EIP-681 request,
// ethereum:{token}@{chainID}/transfer?address={deposit}&uint256={base units}; for TRC20 the
// deposit address itself (TRON wallets have no common URI scheme).
func PayURI(n checkout.Network, address string, amount checkout.Amount, token string, chainID uint64) string {
	if n != checkout.ERC20 || token == "" {
		return address
	}
	return "ethereum:" + token + "@" + strconv.FormatUint(chainID, 10) + "/transfer?address=" +
		address + "&uint256=" + strconv.FormatInt(int64(amount), 10)
}

// ReturnTo appends order_id to rawURL, keeping rawURL's own query. It returns "" when rawURL
// is not an absolute http(s) URL.
func ReturnTo(rawURL, orderID string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return ""
	}
	q := u.Query()
	q.Set("order_id", orderID)
	u.RawQuery = q.Encode()
	return u.String()
}

// PickLang chooses the language: an explicit ?lang= wins, then the first supported language of
// the browser's Accept-Language list, then English.
func PickLang(override, acceptLanguage string) string {
	if l := normLang(override); l != "" {
		return l
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l := normLang(tag); l != "" {
			return l
		}
	}
	return "en"
}

// normLang maps a language tag to a Locale's code: exact (case-insensitive) first, then by
// its primary language (zh-CN, zh-Hans → zh; pt, pt-PT → pt-BR; en-GB → en).
func normLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(strings.ReplaceAll(tag, "_", "-")))
	if tag == "" {
		return ""
	}
	for _, l := range Locales {
		if strings.ToLower(l.Code) == tag {
			return l.Code
		}
	}
	primary, _, _ := strings.Cut(tag, "-")
	for _, l := range Locales {
		p, _, _ := strings.Cut(strings.ToLower(l.Code), "-")
		if p == primary {
			return l.Code
		}
	}
	return ""
}

// langLink is one entry of the language switcher.
type langLink struct {
	Code, Name, Href string
}

// langLinks are the switcher's links: this page in each language, its embedding kept. Plain
// links, so switching works before the wasm runs and after.
func langLinks(s *State) []langLink {
	var q string
	if s.Embed != EmbedNone {
		q += "&embed=" + s.Embed
	}
	if s.HostRedirect {
		q += "&redirect=host"
	}
	out := make([]langLink, 0, len(Locales))
	for _, l := range Locales {
		out = append(out, langLink{Code: l.Code, Name: l.Name, Href: "?lang=" + l.Code + q})
	}
	return out
}
