package api

import (
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/mpchat/checkout/edge/clientip"
)

// clientAddr is the request's client: the TCP peer, or the client a trusted proxy names in
// X-Forwarded-For (Server.ClientIP).
func (s *Server) clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	return s.ClientIP.Client(ctx.RemoteIP(), string(ctx.Request.Header.Peek("X-Forwarded-For")))
}

// clientBucket is the key a client's requests and streams are counted under (an IPv6
// client's whole /64).
func (s *Server) clientBucket(ctx *fasthttp.RequestCtx) string {
	return clientip.Bucket(s.clientAddr(ctx))
}
