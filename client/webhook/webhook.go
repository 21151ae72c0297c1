// Package webhook signs and verifies MP Checkout webhooks. The edge's dispatcher signs with
// Sign; merchants verify with Verify or ConstructEvent, so both sides share one
// implementation. The header is Stripe-style:
//
//	MP-Signature: t={unix seconds},v1={hex HMAC-SHA256(webhook_secret, t + "." + body)}
//
// Several v1= entries may be present (secret rotation); any one matching is enough.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// Header is the name of the signature header.
const Header = "MP-Signature"

// DefaultTolerance is how far a signature's timestamp may be from now, past or future.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrMissingHeader = errors.New("webhook: missing or malformed MP-Signature header")
	ErrTimestamp     = errors.New("webhook: timestamp outside the tolerance")
	ErrSignature     = errors.New("webhook: no signature matches")
)

// Sign returns the MP-Signature header value for body sent at t, signed with secret(s).
func Sign(body []byte, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + compute(s, ts, body))
	}
	return b.String()
}

func compute(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Verify checks the header against the exact body bytes received: the timestamp must be within
// tolerance of now (DefaultTolerance if 0), and one v1 signature must match secret
// (compared in constant time).
func Verify(body []byte, header, secret string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMissingHeader
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s", ErrTimestamp, time.Unix(sec, 0).UTC().Format(time.RFC3339))
	}
	want, _ := hex.DecodeString(compute(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}

// Event is a webhook body: {"id":"evt_…","type":…,"created_at":…,"data":{"order":{…}}}.
type Event = checkout.WebhookEvent

// ConstructEvent verifies the request and decodes its event.
func ConstructEvent(body []byte, header, secret string) (*Event, error) {
	if err := Verify(body, header, secret, DefaultTolerance, time.Now()); err != nil {
		return nil, err
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("webhook: decode event: %w", err)
	}
	return &e, nil
}
