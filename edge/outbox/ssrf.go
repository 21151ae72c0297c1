// Package webhook delivers signed events to merchants' webhook URLs. This file is the
// outbound HTTP client: bounded, no redirects, no proxies from the environment, and no
// connection to loopback, private, link-local (cloud metadata), multicast or unspecified
// addresses unless the operator allows them (dev mode).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a webhook URL resolves to an address the
// gateway must not reach.
var ErrForbiddenAddress = errors.New("webhook target address is not allowed")

// DefaultTimeout bounds one delivery attempt.
const DefaultTimeout = 10 * time.Second

// forbidden4 lists the IPv4 ranges of IANA's special-purpose registry that are not globally
// reachable, beyond what netip classifies (loopback, RFC 1918, link-local, multicast).
var forbidden4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT), RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (DS-Lite, NAT64 discovery…)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast, RFC 7526
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast
}

// IPv6: only global unicast (2000::/3) is ever reachable, less the special blocks inside it;
// the translation prefixes outside it are judged by the IPv4 address they carry.
var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	forbidden6     = []netip.Prefix{
		netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID…
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("3fff::/20"),     // documentation, RFC 9637
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 prefix, RFC 6052: IPv4 in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // 6to4, RFC 3056: IPv4 in bits 16–47
)

// Forbidden reports whether a webhook may not connect to ip: loopback, private, link-local
// (169.254.169.254 and the other metadata endpoints), multicast, unspecified, broadcast and
// every other range IANA's special-purpose registries mark as not globally reachable; in IPv6
// anything outside global unicast 2000::/3. An IPv6 address that carries an IPv4 address
// (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::) is judged by that
// IPv4 address, since the packet can end there; the deprecated IPv4-compatible ::a.b.c.d,
// Teredo and the local-use NAT64 prefix 64:ff9b:1::/48 are refused outright.
func Forbidden(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("") // a zoned address never matches a prefix; its zone says nothing good
	if ip.Is4In6() {
		return forbiddenV4(ip.Unmap())
	}
	if ip.Is4() {
		return forbiddenV4(ip)
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return forbiddenV4(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return forbiddenV4(netip.AddrFrom4([4]byte(b[2:6])))
	case !globalUnicast6.Contains(ip):
		return true // ::/96, ::1, 64:ff9b:1::/48, 100::/64, 5f00::/16, fc00::/7, fe80::/10, fec0::/10, ff00::/8…
	}
	for _, p := range forbidden6 {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func forbiddenV4(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range forbidden4 {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// InternalHost reports whether a URL's host is "localhost" or an IP address that webhooks
// may not reach, so such a URL can be refused when it is configured. Other names are judged
// when they are resolved, at each delivery.
func InternalHost(host string) bool {
	h := strings.ToLower(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return err == nil && Forbidden(ip)
}

// NewClient returns the HTTP client deliveries use. With allowPrivate (dev mode only), any
// address may be reached.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		// Control runs after name resolution and before connect: it sees the real address
		// (a hostname resolving to 127.0.0.1, DNS rebinding) and no packet is ever sent there.
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			if Forbidden(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
			}
			return nil
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would make the address check meaningless
			DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		// A redirect is a failed delivery: following it could lead anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
