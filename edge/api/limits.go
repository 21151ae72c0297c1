package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/store"
)

// Default limits of the public surfaces, per client (an IPv6 client counted by its /64).
var (
	// DefaultPublicLimit: public order lookups (GET /v1/checkout/{id}, /pay/{id}, the public
	// event stream) per client: a burst of 120, then 10 a second. A customer's checkout makes
	// a handful; a carrier NAT with many customers behind one address still fits.
	DefaultPublicLimit = store.Limit{Burst: 120, Every: 100 * time.Millisecond}
	// DefaultUnknownLimit: lookups of ids that are no order, per client: 20, then one every
	// 6 s (10 a minute). A typo or a stale link costs one; guessing is throttled.
	DefaultUnknownLimit = store.Limit{Burst: 20, Every: 6 * time.Second}
	// DefaultAuthFailIPLimit: failed merchant authentications per client: 20, then one
	// every 3 s.
	DefaultAuthFailIPLimit = store.Limit{Burst: 20, Every: 3 * time.Second}
	// DefaultAuthFailKeyLimit: failed authentications per key id (from any client): 60,
	// then one a second. Key ids are not public (they travel only server to server).
	DefaultAuthFailKeyLimit = store.Limit{Burst: 60, Every: time.Second}
)

// limitOf resolves a configured limit: the zero Limit means def, a negative Burst none.
func limitOf(l, def store.Limit) (store.Limit, bool) {
	switch {
	case l.Burst < 0:
		return l, false
	case l.Burst == 0:
		return def, true
	}
	return l, true
}

// Bucket names of the limits (under the store's rate-limit prefix).
func lookupBucket(client string) string  { return "lookup:" + client }
func unknownBucket(client string) string { return "lookup-miss:" + client }
func authIPBucket(client string) string  { return "authfail-ip:" + client }
func authKeyBucket(keyID string) string  { return "authfail-key:" + keyID }

// throttle answers 429 (with Retry-After and msg) when the bucket's budget is spent. spend
// says whether this request spends from it (Allow) or only looks (Check: failures are charged
// afterwards, by charge).
func (s *Server) throttle(ctx *fasthttp.RequestCtx, bucket string, l store.Limit, spend bool, msg string) error {
	allow := s.Store.Check
	if spend {
		allow = s.Store.Allow
	}
	ok, retry, err := allow(ctx, bucket, l)
	if err != nil {
		return err
	}
	if !ok {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(store.RetryAfterSeconds(retry)))
		return checkout.NewError(checkout.CodeRateLimited, "", msg)
	}
	return nil
}

// charge spends one from the bucket after the request was answered; a Redis failure is
// logged (what) rather than changing the answer.
func (s *Server) charge(ctx *fasthttp.RequestCtx, bucket string, l store.Limit, what string) {
	if _, _, err := s.Store.Allow(ctx, bucket, l); err != nil {
		s.log().Warn(what, "err", err)
	}
}

// publicLookup throttles a handler that looks an order up by its id with no other credential.
// Every lookup spends from the client's public budget; a lookup that finds no order also
// spends from its much smaller unknown-id budget, and once that is spent every lookup of the
// client is refused until it refills (refusing only misses would tell hits from misses).
func (s *Server) publicLookup(next handler) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		client := s.clientBucket(ctx)
		unknown, checkUnknown := limitOf(s.UnknownLimit, DefaultUnknownLimit)
		if checkUnknown {
			if err := s.throttle(ctx, unknownBucket(client), unknown, false,
				"too many lookups of unknown orders from this client; retry after the Retry-After header's seconds"); err != nil {
				return err
			}
		}
		if l, on := limitOf(s.PublicLimit, DefaultPublicLimit); on {
			if err := s.throttle(ctx, lookupBucket(client), l, true,
				"too many checkout requests from this client; retry after the Retry-After header's seconds"); err != nil {
				return err
			}
		}
		err := next(ctx)
		if checkUnknown && missed(ctx, err) {
			s.charge(ctx, unknownBucket(client), unknown, "count an unknown order lookup")
		}
		return err
	}
}

// missed: the lookup found no order (a 404 error, or a 404 page written by the handler).
func missed(ctx *fasthttp.RequestCtx, err error) bool {
	var ce *checkout.Error
	if errors.As(err, &ce) {
		return ce.HTTPStatus == 404
	}
	return err == nil && ctx.Response.StatusCode() == fasthttp.StatusNotFound
}

// authThrottled refuses (429) a client or key id whose failed-authentication budget is
// spent, before the key lookup and the HMAC: guessing signatures or keys is throttled.
func (s *Server) authThrottled(ctx *fasthttp.RequestCtx, client, keyID string) error {
	if l, on := limitOf(s.AuthFailIPLimit, DefaultAuthFailIPLimit); on {
		if err := s.throttle(ctx, authIPBucket(client), l, false,
			"too many failed authentications from this client; retry after the Retry-After header's seconds"); err != nil {
			return err
		}
	}
	if l, on := limitOf(s.AuthFailKeyLimit, DefaultAuthFailKeyLimit); on && keyID != "" {
		return s.throttle(ctx, authKeyBucket(keyID), l, false,
			"too many failed authentications for this API key; retry after the Retry-After header's seconds")
	}
	return nil
}

// authFailed charges a failed authentication (a 401) to the client, and to the key id when
// the key exists and the signature was wrong or the key revoked (unknown ids, and timestamps
// refused before any HMAC, would only fill Redis with buckets; the client's covers them).
func (s *Server) authFailed(ctx *fasthttp.RequestCtx, client, keyID string, err error) {
	var ce *checkout.Error
	if !errors.As(err, &ce) || ce.HTTPStatus != 401 {
		return
	}
	if l, on := limitOf(s.AuthFailIPLimit, DefaultAuthFailIPLimit); on {
		s.charge(ctx, authIPBucket(client), l, "count a failed authentication")
	}
	if l, on := limitOf(s.AuthFailKeyLimit, DefaultAuthFailKeyLimit); on && (ce.Code == auth.CodeSignature || ce.Code == auth.CodeRevoked) {
		s.charge(ctx, authKeyBucket(keyID), l, "count a failed authentication")
	}
}

// admission is the Redis work every authenticated request does, with the 429 message of each
// of its Checks: the failed-authentication throttles (per client, per key id), the key's
// rate limit, and the replay mark.
//
// A state-changing request whose exact signature was already used is refused: the signature
// covers the timestamp, method, path and body, so within the 300 s window a captured request
// could otherwise be sent again and, without an idempotency key, create a second order. Each
// signature is marked in Redis until its timestamp leaves the window.
//
// A request whose signed body carries an idempotency_key is let through: the idempotency
// record already makes its replay return the original, and clients that retry by resending
// the very same request (same headers) keep working. (An Idempotency-Key header is not
// signed, so it does not count: a replayer could set a fresh one.) The Go SDK signs every
// attempt anew with a later timestamp, so its retries never look like replays.
func (s *Server) admission(ctx *fasthttp.RequestCtx, key *checkout.APIKey, m *checkout.Merchant, header string) (*store.Admission, []string, error) {
	a := &store.Admission{KeyID: key.ID, Spend: s.rateBucket(key.ID, m.RateLimit)}
	var msgs []string
	if l, on := limitOf(s.AuthFailIPLimit, DefaultAuthFailIPLimit); on {
		a.Checks = append(a.Checks, store.Bucket{Name: authIPBucket(s.clientBucket(ctx)), Limit: l})
		msgs = append(msgs, "too many failed authentications from this client; retry after the Retry-After header's seconds")
	}
	if l, on := limitOf(s.AuthFailKeyLimit, DefaultAuthFailKeyLimit); on {
		a.Checks = append(a.Checks, store.Bucket{Name: authKeyBucket(key.ID), Limit: l})
		msgs = append(msgs, "too many failed authentications for this API key; retry after the Retry-After header's seconds")
	}
	if ctx.IsGet() || ctx.IsHead() || signedIdempotencyKey(ctx.PostBody()) {
		return a, msgs, nil
	}
	_, ts, sig, err := auth.ParseHeader(header)
	if err != nil {
		return nil, nil, err // cannot happen: Verify accepted the header
	}
	now := time.Now
	if s.Auth != nil && s.Auth.Now != nil {
		now = s.Auth.Now
	}
	a.ReplaySig = hex.EncodeToString(sig)
	a.ReplayTTL = time.Unix(ts, 0).Add(auth.MaxSkew).Sub(now()) + time.Second
	return a, msgs, nil
}

// tooMany is the 429 of a spent budget.
func (s *Server) tooMany(ctx *fasthttp.RequestCtx, v store.Verdict, msg string) error {
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(store.RetryAfterSeconds(v.Retry)))
	return checkout.NewError(checkout.CodeRateLimited, "", msg)
}

// signedIdempotencyKey reports whether a JSON body carries a non-empty idempotency_key.
func signedIdempotencyKey(body []byte) bool {
	if len(body) == 0 || !bytes.Contains(body, []byte(`"idempotency_key"`)) {
		return false
	}
	var v struct {
		Key any `json:"idempotency_key"`
	}
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	k, ok := v.Key.(string)
	return ok && k != ""
}
