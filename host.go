package checkout

import (
	"net/netip"
	"strings"
)

// ValidHost reports whether host — a URL's Hostname(): no port, no IPv6 brackets — is a DNS
// name or an IP address literal. A DNS name is 1 to 253 characters of dot-separated labels of
// ASCII letters, digits and inner hyphens (RFC 1123; internationalised names in their xn--
// form), the last label starting with a letter, so browsers cannot read it as a number-style
// IPv4 address (2130706433, 0x7f.1); no trailing dot. IPv6 literals may not carry a zone.
//
// Go's URL parser accepts almost anything in a host (quotes, <, >, =, parentheses, spaces
// escaped as %20): every host the product stores or renders — return_url, webhook_url, embed
// origins, a merchant's allowed return hosts — is checked here, once, at the door.
func ValidHost(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Zone() == ""
	}
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		if i == len(labels)-1 && !(l[0] >= 'a' && l[0] <= 'z' || l[0] >= 'A' && l[0] <= 'Z') {
			return false
		}
	}
	return true
}
