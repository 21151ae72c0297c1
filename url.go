package checkout

import (
	"net/netip"
	"net/url"
	"strings"
)

// The URL policy: every URL the product stores, renders or is configured with is parsed here,
// once, by its kind, so the order API, the operator commands, the checkout page and the edge's
// flags cannot drift apart. Each parser returns a *URLError whose Reason callers map to their
// own error code and message. Hosts are judged by ValidHost.
//
// The webhook parser takes the SSRF check (which addresses a delivery may never reach) as an
// argument: that check belongs to the webhook sender (edge/outbox), which also applies it to
// every resolved address at delivery time; this file stays standard-library only, so the
// wasm checkout can link the package.

// MaxURLLen bounds return_url and webhook_url.
const MaxURLLen = 2048

// URLKind names what a URL is for, in errors.
type URLKind string

const (
	KindReturnURL  URLKind = "return_url"
	KindWebhookURL URLKind = "webhook_url"
	KindOrigin     URLKind = "origin"
	KindCSPSource  URLKind = "CSP source"
	KindBaseURL    URLKind = "base URL"
)

// URLReason says why a URL was refused.
type URLReason int

const (
	URLTooLong     URLReason = iota + 1 // longer than MaxURLLen
	URLNotAbsolute                      // unparsable, relative, opaque (javascript:…) or hostless
	URLScheme                           // a scheme other than http(s)
	URLInsecure                         // http where only https is accepted
	URLCredentials                      // user or user:password@
	URLBadHost                          // a host ValidHost refuses
	URLInternal                         // a webhook to localhost or a loopback/private/reserved IP
	URLExtraParts                       // a path, query or fragment where none may be
)

// URLError is the error every parser here returns.
type URLError struct {
	Kind   URLKind
	Reason URLReason
}

func (e *URLError) Error() string {
	k := string(e.Kind)
	switch e.Reason {
	case URLTooLong:
		return k + " is longer than 2048 characters"
	case URLScheme:
		return k + " must use http or https"
	case URLInsecure:
		return k + " must use https (http is accepted only for loopback hosts in dev mode)"
	case URLCredentials:
		return k + " must not carry credentials"
	case URLBadHost:
		return k + " host must be a DNS name (letters, digits, hyphens; xn-- for international names) or an IP address"
	case URLInternal:
		return k + " points to a loopback, private or reserved address; webhooks are never sent there"
	case URLExtraParts:
		return k + " must not carry a path, query or fragment"
	}
	return k + " must be an absolute URL"
}

// ParseReturnURL parses where the checkout sends the customer back: an absolute https URL of at
// most MaxURLLen characters with a valid host and no credentials; paths, queries, fragments and
// ports are the merchant's. Plain http only in dev mode and only to a loopback host (localhost,
// 127.0.0.0/8, ::1), so a dev edge never leads a customer to a plain-http site.
func ParseReturnURL(raw string, dev bool) (*url.URL, error) {
	return parseHTTPS(raw, KindReturnURL, dev)
}

// ParseWebhookURL parses where webhooks go: the rules of ParseReturnURL and, outside dev mode,
// no host internal reports (the SSRF check: localhost and loopback, private or reserved IP
// literals), since deliveries there would be refused for days. internal must not be nil.
func ParseWebhookURL(raw string, dev bool, internal func(host string) bool) (*url.URL, error) {
	u, err := parseHTTPS(raw, KindWebhookURL, dev)
	if err != nil {
		return nil, err
	}
	if !dev && internal(u.Hostname()) {
		return nil, &URLError{KindWebhookURL, URLInternal}
	}
	return u, nil
}

func parseHTTPS(raw string, kind URLKind, dev bool) (*url.URL, error) {
	if len(raw) > MaxURLLen {
		return nil, &URLError{kind, URLTooLong}
	}
	u, err := parseAbsolute(raw, kind)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "http" && !(dev && isLoopback(u.Hostname())) {
		return nil, &URLError{kind, URLInsecure}
	}
	return u, nil
}

// parseAbsolute accepts an absolute http(s) URL with a valid host and no credentials.
func parseAbsolute(raw string, kind URLKind) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, &URLError{kind, URLNotAbsolute}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, &URLError{kind, URLScheme}
	}
	if u.User != nil {
		return nil, &URLError{kind, URLCredentials}
	}
	if !ValidHost(u.Hostname()) {
		return nil, &URLError{kind, URLBadHost}
	}
	return u, nil
}

// isLoopback: the hosts a dev edge may reach over plain http.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// ParseOrigin parses a web origin such as https://shop.example or http://127.0.0.1:8080 (one
// trailing slash allowed) and returns it normalised to scheme://host[:port] in lower case, the
// form browsers send in Origin and CSP and postMessage compare. It refuses other schemes,
// paths, queries, fragments, credentials and hosts ValidHost refuses.
func ParseOrigin(raw string) (string, error) {
	u, err := parseAbsolute(strings.TrimSuffix(raw, "/"), KindOrigin)
	if err != nil {
		return "", err
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", &URLError{KindOrigin, URLExtraParts}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// ParseCSPSource parses one origin in an operator's CSP source list (the keywords 'none',
// 'self', * and scheme sources are the caller's): an origin as ParseOrigin takes it, whose
// host may start with the wildcard "*.". Nothing in it can end the directive.
func ParseCSPSource(raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if ok {
		rest = strings.TrimPrefix(rest, "*.")
		raw = scheme + "://" + rest
	}
	if _, err := ParseOrigin(raw); err != nil {
		return &URLError{KindCSPSource, err.(*URLError).Reason}
	}
	return nil
}

// ParseBaseURL parses a URL an operator configures the edge with (--public-url, --dev-pay-url):
// an absolute http(s) URL with a valid host, no credentials, query or fragment; a path is
// allowed. http is the operator's call (a TLS-terminating proxy in front).
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := parseAbsolute(raw, KindBaseURL)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, &URLError{KindBaseURL, URLExtraParts}
	}
	return u, nil
}
