package checkout

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// What a merchant shows its customers on the checkout (Merchant.Name, LogoURL, SupportURL,
// SupportEmail), checked here once so the operator commands and the page agree.
const (
	MaxMerchantNameLen = 100  // characters
	MaxEmailLen        = 254  // bytes (RFC 5321's path limit)
	MaxLogoDataURLLen  = 8192 // bytes of a data: logo, in the page twice (the state and the img)
)

// Kinds of the display URLs, in errors.
const (
	KindSupportURL URLKind = "support_url"
	KindLogoURL    URLKind = "logo_url"
)

// CheckMerchantName accepts a non-empty name of at most MaxMerchantNameLen characters
// without control characters.
func CheckMerchantName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("is required")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxMerchantNameLen {
		return fmt.Errorf("must be valid UTF-8 of at most %d characters", MaxMerchantNameLen)
	}
	if strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return errors.New("must not contain control characters")
	}
	return nil
}

// ParseSupportURL parses the merchant's support page: the return_url rules (absolute https,
// a valid host, no credentials, at most MaxURLLen; http to loopback only in dev mode).
func ParseSupportURL(raw string, dev bool) (*url.URL, error) {
	return parseHTTPS(raw, KindSupportURL, dev)
}

// CheckEmail accepts a plain address local@domain: no display name, no spaces or angle
// brackets, at most MaxEmailLen bytes, a domain ValidHost accepts with at least one dot.
func CheckEmail(s string) error {
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case len(s) > MaxEmailLen:
		return fmt.Errorf("must be at most %d characters", MaxEmailLen)
	case !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@"):
		return errors.New("must be an address such as support@shop.example")
	case strings.ContainsAny(local, " \t\r\n<>()[]\\,;:\""):
		return errors.New("must be a plain address without a name, spaces or brackets")
	case !strings.Contains(domain, ".") || !ValidHost(domain):
		return errors.New("domain must be a DNS name such as shop.example")
	}
	return nil
}

// logoTypes are the image types a data: logo may have. An <img> never runs script, SVG
// included.
var logoTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}

// ParseLogoURL parses the merchant's logo. Either an https URL (at most MaxURLLen, the
// return_url rules; the page's Content-Security-Policy then allows exactly that origin in
// img-src, and the customer's browser fetches it from there with no referrer), or a base64
// data: URL of a PNG, JPEG, GIF, WebP or SVG image of at most MaxLogoDataURLLen bytes, which
// the page carries inline and which loads nothing from anywhere. It returns the origin to
// allow in img-src ("" for a data: URL).
func ParseLogoURL(raw string, dev bool) (origin string, err error) {
	if rest, ok := strings.CutPrefix(raw, "data:"); ok {
		if len(raw) > MaxLogoDataURLLen {
			return "", fmt.Errorf("logo_url: a data: logo must be at most %d bytes", MaxLogoDataURLLen)
		}
		mime, data, ok := strings.Cut(rest, ";base64,")
		known := false
		for _, t := range logoTypes {
			known = known || mime == t
		}
		if !ok || !known {
			return "", errors.New("logo_url: a data: logo must be data:image/png|jpeg|gif|webp|svg+xml;base64,…")
		}
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			return "", errors.New("logo_url: a data: logo must be valid base64")
		}
		return "", nil
	}
	u, err := parseHTTPS(raw, KindLogoURL, dev)
	if err != nil {
		return "", err
	}
	return ParseOrigin(u.Scheme + "://" + u.Host)
}
