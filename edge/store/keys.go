package store

import (
	checkout "github.com/mpchat/checkout"
)

// Every Redis key the edge uses is named here, and nowhere else. Keys that one atomic Lua
// step touches together share a hash tag ({…}), so the same scripts run on Redis Cluster:
//
//	merchant slot  {m:ID}    merchant record, its keys set, address counters, idempotency records
//	order slot     {ord_…}   order record (its events and webhook records inside), webhook queue
//	network slot   {ERC20}   watch set, feed stream (shared with the watchers; see transfer.go)
//
// Anything crossing slots (address → order index, expiry schedule, the change feed the edges
// fan out from) is written in separate idempotent steps, ordered so a crash between them loses
// nothing (see CreateOrder).
//
// A few keys are shared by every deployment on one Redis, whatever its prefix (see
// Store.WithSharedPrefix and the end of this file).
type keys struct{ prefix, shared string }

func (k keys) merchants() string         { return k.prefix + "merchants" }
func (k keys) merchant(id string) string { return k.prefix + "merchant:{m:" + id + "}" }
func (k keys) merchantKeys(id string) string {
	return k.prefix + "merchant:{m:" + id + "}:keys"
}

// addrCounter counts deposit-address indexes handed out per xpub (by fingerprint), so putting
// back an xpub a merchant used before continues where it stopped instead of reusing addresses.
func (k keys) addrCounter(merchantID, xpubFingerprint string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:next:" + xpubFingerprint
}

// switchClaim holds the address index a network switch claimed for (order, network), so
// concurrent and retried switches derive one address (switch.go; a claim_order record,
// about 100 B, kept SwitchClaimTTL).
func (k keys) switchClaim(merchantID, orderID string, n checkout.Network) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:switch:" + orderID + ":" + string(n)
}
func (k keys) idempotency(merchantID, key string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:idem:" + key
}

// The merchant's order index (index.go): one lex-sorted list per status and network (member:
// created-at seconds in 8 hex digits + the order's ULID, so lex order is creation order), each
// order's indexed "version:STATUS" by ULID, and its payments' tx hashes → order id.
func (k keys) orderList(merchantID string, st checkout.Status, n checkout.Network) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:orders:" + string(st) + ":" + string(n)
}
func (k keys) orderStatuses(merchantID string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:orders:st"
}
func (k keys) orderTxs(merchantID string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:orders:tx"
}
func (k keys) apiKey(keyID string) string          { return k.prefix + "apikey:{" + keyID + "}" }
func (k keys) xpubOwner(fingerprint string) string { return k.prefix + "xpub:{" + fingerprint + "}" }
func (k keys) devAccounts() string                 { return k.prefix + "dev:accounts" }
func (k keys) order(id string) string              { return k.prefix + "order:{" + id + "}" }

// order is an order's one lasting key: a hash of its document (doc, ver, merchant, feedpos),
// its events (e:N, last), and its webhook delivery records (w:EVT) with their attempt logs
// (a:EVT). webhookQueue, in the same slot, lists its pending deliveries (gone when none).
func (k keys) webhookQueue(id string) string { return k.prefix + "order:{" + id + "}:whq" }

// notice is a merchant-level webhook event (about a transfer, not an order) with its delivery
// record, and noticeQueue its pending queue: the order outbox's layout (notices.go).
func (k keys) notice(id string) string      { return k.prefix + "notice:{" + id + "}" }
func (k keys) noticeQueue(id string) string { return k.prefix + "notice:{" + id + "}:whq" }

// webhooksDue schedules orders with pending deliveries (member order id, score the unix ms of
// its next round); webhookClaims holds the orders a dispatcher is working on (score: the end
// of its lease). One slot, so claiming moves an order between them atomically.
func (k keys) webhooksDue() string   { return k.prefix + "webhooks:{sched}:due" }
func (k keys) webhookClaims() string { return k.prefix + "webhooks:{sched}:claims" }
func (k keys) address(n checkout.Network, addr string) string {
	return k.prefix + "addr:{" + string(n) + ":" + addr + "}"
}
func (k keys) watchSet(n checkout.Network) string  { return k.prefix + checkout.WatchSet(n) }
func (k keys) feed(n checkout.Network) string      { return k.prefix + checkout.FeedStream(n) }
func (k keys) blocklist(n checkout.Network) string { return k.prefix + "blocklist:{" + string(n) + "}" }
func (k keys) expiry() string                      { return k.prefix + "expiry" }
func (k keys) changes() string                     { return k.prefix + "changes" }
func (k keys) orphans() string                     { return k.prefix + "orphans" }
func (k keys) anomalies(n checkout.Network) string {
	return k.prefix + "watcher:{" + string(n) + "}:anomalies" // written by the watcher (watcher/feed)
}
func (k keys) rateLimitPrefix() string { return k.prefix + "rate:" }

// The shared namespace: two deployments deriving from one xpub would hand out the same
// deposit addresses, so xpub claims and dev-account numbers are unique across prefixes.
// sharedXPubOwner holds the owning merchant as "merchantID@prefix"; devAccounts above is the
// per-prefix counter of earlier versions, which the shared one starts above.
func (k keys) sharedXPubOwner(fingerprint string) string {
	return k.shared + "xpub-owner:{" + fingerprint + "}"
}
func (k keys) sharedDevAccounts() string { return k.shared + "dev-accounts" }

// rate is a rate-limit bucket (GCRA: the time its budget is next full); each expires once
// its budget is full again. The edge's buckets (edge/api): key:{key_id} (API requests),
// lookup:{client} and lookup-miss:{client} (public order lookups, and those of unknown ids),
// authfail-ip:{client} and authfail-key:{key_id} (failed authentications); a client is an
// IP address or an IPv6 /64.
func (k keys) rate(bucket string) string { return k.rateLimitPrefix() + bucket }

// replay marks a signed state-changing request as used, until its timestamp leaves the
// signature window.
func (k keys) replay(keyID, sig string) string { return k.prefix + "replay:{" + keyID + "}:" + sig }

// Addresses mode (receive.go). A merchant's receive address is bound to the merchant in
// address(n, addr) (value "mer_…", so an HD-derived order can never take it) and owned across
// deployments in sharedAddressOwner. Its reservations and the transfers reported to it share
// the address's slot {NET:ADDR}, so reserving a pair, matching a transfer and claiming one
// are each one script there:
//
//	reservations  zset  member order id, score pay_amount in base units
//	reservedMin   hash  order id → the order's PAID bound (tolerance matching)
//	received      hash  per transfer TX:LOG: t: latest observation, p: its feed position,
//	                    a: first seen (unix ms), o: order credited; h:TX → its log indexes
func (k keys) reservations(n checkout.Network, addr string) string {
	return k.prefix + "recv:{" + string(n) + ":" + addr + "}:res"
}
func (k keys) reservedMin(n checkout.Network, addr string) string {
	return k.prefix + "recv:{" + string(n) + ":" + addr + "}:min"
}
func (k keys) received(n checkout.Network, addr string) string {
	return k.prefix + "recv:{" + string(n) + ":" + addr + "}:tx"
}

// receiveSchedule holds what addresses mode must release later (member "r|NET|ADDR|ORDER":
// a reservation, "t|NET|ADDR|TX:LOG": a transfer record), score the unix ms it is due.
func (k keys) receiveSchedule() string { return k.prefix + "recv-schedule" }

// unmatched indexes a merchant's unmatched transfers (member "NET|ADDR|TX:LOG", score the
// unix ms first seen), for GET /v1/transfers.
func (k keys) unmatched(merchantID string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:unmatched"
}

// sharedAddressOwner: a receive address belongs to one merchant across deployments, as an
// xpub does ("merchantID@prefix").
func (k keys) sharedAddressOwner(n checkout.Network, addr string) string {
	return k.shared + "addr-owner:{" + string(n) + ":" + addr + "}"
}

// retention schedules finished orders for the retention worker (member order id, score the
// unix ms of its next look; retention.go). The key vanishes when empty.
func (k keys) retention() string { return k.prefix + "retention" }

// The earlier per-order layout, read by nothing now: an events stream, a delivery-record
// hash and an attempt-log stream per order, in the order's slot. TrimOrder deletes them.
func (k keys) legacyEvents(id string) string   { return k.prefix + "order:{" + id + "}:events" }
func (k keys) legacyWebhooks(id string) string { return k.prefix + "order:{" + id + "}:wh" }
func (k keys) legacyAttempts(id string) string { return k.prefix + "order:{" + id + "}:wha" }

// The merchant dashboard (users.go, sessions.go, audit.go). A user's record and its session
// index share the user's slot {u:ID}; a session, a set-password token and an e-mail's claim
// each live in a slot of their own, keyed by a SHA-256 (hex) of the secret or the address, so
// neither a session id nor a token is ever stored as given. Steps that cross slots are
// ordered so a crash between them leaves nothing that grants access (see CreateUser,
// CreateSession, RevokeSessions).
//
//	user:{u:ID}           hash  doc (id, email, merchant, operator, created), pw, pw_at, totp,
//	                            totp_step, pwtoken (the newest link's hash), disabled, epoch
//	                            (session generation)
//	user:{u:ID}:sessions  zset  member session hash, score its absolute end (unix ms)
//	user-email:{e:H}      string the user id of the address hashed to H
//	session:{s:H}         hash  user, epoch, created, seen (unix ms), csrf, totp_pending
//	pwtoken:{t:H}         string "userID|expires unix ms", TTL its lifetime
//	merchant:{m:ID}:audit stream the merchant's audit log; audit:{operator} the operators'
func (k keys) users() string                 { return k.prefix + "users" }
func (k keys) user(id string) string         { return k.prefix + "user:{u:" + id + "}" }
func (k keys) userSessions(id string) string { return k.prefix + "user:{u:" + id + "}:sessions" }
func (k keys) userEmail(h string) string     { return k.prefix + "user-email:{e:" + h + "}" }
func (k keys) session(h string) string       { return k.prefix + "session:{s:" + h + "}" }
func (k keys) passwordToken(h string) string { return k.prefix + "pwtoken:{t:" + h + "}" }
func (k keys) audit(merchantID string) string {
	if merchantID == "" {
		return k.prefix + "audit:{operator}"
	}
	return k.prefix + "merchant:{m:" + merchantID + "}:audit"
}

// The dashboard's order page and attention queue (dashboard_detail.go):
//
//	merchant:{m:ID}:attention  zset  order ids needing a human (UNDERPAID, FROZEN, late
//	                                 funds), score when filed (unix ms); ~100 B a member,
//	                                 removed when reviewed (or found gone)
//
// and two fields of the order's own hash (so they live and go with the order): rv, its
// review (reviewField), and wt, its last test webhook (webhookTestField).
func (k keys) attention(merchantID string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:attention"
}

// The dashboard's figures (dashboard_figures.go), in the merchant's slot so the order index
// step counts them in the same script that moves the order between status lists:
//
//	merchant:{m:ID}:fig:YYYYMMDD      hash  one UTC day's counters (c:STATUS, pn, pa, tI, wa, wo,
//	                                        wf), EXPIREAT the day's end + FiguresRetention
//	merchant:{m:ID}:fig:since         string unix seconds from which created orders are counted
//	merchant:{m:ID}:fig:whg:YYYYMMDD  hash  webhook attempts counted that day (EVT:REV → 1), so
//	                                        a retried count adds nothing; kept webhookGuardTTL
func (k keys) figDay(merchantID, day string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:fig:" + day
}
func (k keys) figSince(merchantID string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:fig:since"
}
func (k keys) figWebhookGuard(merchantID, day string) string {
	return k.prefix + "merchant:{m:" + merchantID + "}:fig:whg:" + day
}

// The watcher's own keys (watcher/feed), read for the operator view and never written here:
// its lease (the active instance's token, with a TTL), its checkpoint (last final block
// reported), its pending (seen, unconfirmed) transfers, and its status record: a hash the
// active instance rewrites after each step (h chain head, at unix ms it was read, cp the
// checkpoint then, eh / et RPC endpoints healthy / total, p the primary endpoint's label),
// with a TTL of three poll intervals (at least 30 s), so a dead watcher's record vanishes.
func (k keys) watcherLease(n checkout.Network) string {
	return k.prefix + "watcher:{" + string(n) + "}:lease"
}
func (k keys) watcherCheckpoint(n checkout.Network) string {
	return k.prefix + "watcher:{" + string(n) + "}:checkpoint"
}
func (k keys) watcherPending(n checkout.Network) string {
	return k.prefix + "watcher:{" + string(n) + "}:pending"
}
func (k keys) watcherStatus(n checkout.Network) string {
	return k.prefix + "watcher:{" + string(n) + "}:status"
}
