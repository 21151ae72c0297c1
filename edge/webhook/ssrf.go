// Package webhook delivers signed events to merchants' webhook URLs. This file is the
// outbound HTTP client: bounded, no redirects, no proxies from the environment, and no
// connection to loopback, private, link-local (cloud metadata), multicast or unspecified
// addresses unless the operator allows them (dev mode).
package webhook

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

// extra ranges beyond what netip classifies: shared address space (RFC 6598) and the
// 0.0.0.0/8 "this network" block.
var forbiddenPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("255.255.255.255/32"),
}

// Forbidden reports whether a webhook may not connect to ip: loopback, private, link-local
// (169.254.169.254 and the other metadata endpoints), multicast, unspecified and the special
// ranges above. IPv4-mapped IPv6 addresses are judged as IPv4.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range forbiddenPrefixes {
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
