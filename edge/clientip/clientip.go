// Package clientip finds the address of the client behind a request, for rate limits and
// stream caps. Behind a reverse proxy every request comes from the proxy, so the client is
// read from X-Forwarded-For, but only the hops appended by proxies the operator trusts count:
// anything left of them was written by the client and can be forged.
package clientip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Resolver knows which peers are trusted proxies. The zero value trusts none: the TCP peer is
// the client.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a list of trusted proxies: IP addresses or CIDR prefixes separated by commas or
// spaces (e.g. "127.0.0.1, 10.0.0.0/8, ::1"). An empty list trusts no proxy.
func Parse(list string) (*Resolver, error) {
	r := &Resolver{}
	for _, f := range strings.FieldsFunc(list, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR prefix", f)
		}
		a = a.Unmap()
		r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

// Trusts reports whether a is a trusted proxy.
func (r *Resolver) Trusts(a netip.Addr) bool {
	if r == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client's address: the TCP peer unless it is a trusted proxy, else the
// right-most X-Forwarded-For entry that is not a trusted proxy (each proxy appends the peer it
// saw). When every entry is trusted, or one is unparsable, the left-most trusted hop before
// it is the best known client. xff is the raw header value (several headers joined by ",").
func (r *Resolver) Client(peer net.IP, xff string) netip.Addr {
	client, ok := netip.AddrFromSlice(peer)
	if !ok {
		return netip.Addr{}
	}
	client = client.Unmap()
	if !r.Trusts(client) || xff == "" {
		return client
	}
	hops := strings.Split(xff, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client // a garbled hop: stop at the last proxy we trust
		}
		client = a.Unmap()
		if !r.Trusts(client) {
			return client
		}
	}
	return client
}

// Bucket is the key under which a client's requests are counted: the IPv4 address, or the
// /64 prefix of an IPv6 address (one subscriber usually holds a whole /64, so counting single
// IPv6 addresses would let one client take 2^64 slots).
func Bucket(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
