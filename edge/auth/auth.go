// Package auth verifies the merchant API's signed Authorization header:
// "Bearer {key_id}:{ts}:{sig}", sig = hex HMAC-SHA256 over ts, method, path with query and
// the body's SHA-256 (see the SDK, client.Signature). Each failure has its own error code.
package auth

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
)

// MaxSkew is how far a request's timestamp may be from the server clock.
const MaxSkew = 300 * time.Second

// The 401 error codes, one per failure (short names of the root table's).
const (
	CodeMissing   = checkout.CodeMissingAuthorization
	CodeMalformed = checkout.CodeMalformedAuthorization
	CodeTimestamp = checkout.CodeTimestampOutOfRange
	CodeUnknown   = checkout.CodeUnknownAPIKey
	CodeRevoked   = checkout.CodeRevokedAPIKey
	CodeSignature = checkout.CodeInvalidSignature
)

// Keys looks up API keys by id; a missing key is an error wrapping checkout.ErrNotFound.
type Keys interface {
	APIKey(ctx context.Context, id string) (*checkout.APIKey, error)
}

// Verifier checks Authorization headers against stored keys.
type Verifier struct {
	Keys Keys
	Now  func() time.Time // defaults to time.Now

	mu    sync.Mutex
	cache map[string]*checkout.APIKey // VerifyCached's keys, by id
}

// cacheMax bounds the key cache; it holds only keys that exist, so a full reset is rare.
const cacheMax = 10_000

func unauthorized(code checkout.Code, msg string) *checkout.Error {
	return checkout.NewError(code, "", msg)
}

// Verify authenticates a request and returns its key. Failures are *checkout.Error with
// status 401 and a distinct code; a lookup failure other than not-found is returned as is.
func (v *Verifier) Verify(ctx context.Context, header, method, pathWithQuery string, body []byte) (*checkout.APIKey, error) {
	return v.verifyWith(ctx, header, method, pathWithQuery, body, v.Keys.APIKey)
}

// verifyWith is Verify with the key looked up by lookup.
func (v *Verifier) verifyWith(ctx context.Context, header, method, pathWithQuery string, body []byte, lookup func(context.Context, string) (*checkout.APIKey, error)) (*checkout.APIKey, error) {
	if header == "" {
		return nil, unauthorized(CodeMissing, "missing Authorization header: expected \"Bearer {key_id}:{ts}:{sig}\"")
	}
	keyID, ts, sig, err := ParseHeader(header)
	if err != nil {
		return nil, unauthorized(CodeMalformed, err.Error())
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Unix() - ts; d > int64(MaxSkew/time.Second) || d < -int64(MaxSkew/time.Second) {
		return nil, unauthorized(CodeTimestamp, "timestamp is more than 300 seconds from the server clock; check the clock and sign with Unix seconds")
	}
	key, err := lookup(ctx, keyID)
	if errors.Is(err, checkout.ErrNotFound) {
		return nil, unauthorized(CodeUnknown, "unknown API key")
	}
	if err != nil {
		return nil, fmt.Errorf("look up api key: %w", err)
	}
	if key.RevokedAt != nil {
		return nil, unauthorized(CodeRevoked, "this API key has been revoked")
	}
	want := client.Signature(key.Secret, ts, method, pathWithQuery, body)
	wantRaw, _ := hex.DecodeString(want)
	if !hmac.Equal(wantRaw, sig) {
		return nil, unauthorized(CodeSignature, "signature does not match: sign ts + \"\\n\" + METHOD + \"\\n\" + path-with-query + \"\\n\" + hex(sha256(body))")
	}
	return key, nil
}

// VerifyCached authenticates like Verify, with the key from this verifier's memory when it
// has one (a key found in the store is remembered). A cached key may have been revoked since:
// the caller must read the key's current record in the same round trip as the request's
// other Redis work and pass it to Confirm before acting on the request, which keeps
// revocation immediate (a request that starts after the revocation is written is refused).
func (v *Verifier) VerifyCached(ctx context.Context, header, method, pathWithQuery string, body []byte) (*checkout.APIKey, error) {
	keyID, _, _, err := ParseHeader(header)
	if err != nil || header == "" {
		return v.Verify(ctx, header, method, pathWithQuery, body)
	}
	v.mu.Lock()
	key := v.cache[keyID]
	v.mu.Unlock()
	if key == nil {
		key, err := v.Verify(ctx, header, method, pathWithQuery, body)
		if err == nil {
			v.remember(key)
		}
		return key, err
	}
	return v.verifyWith(ctx, header, method, pathWithQuery, body, func(context.Context, string) (*checkout.APIKey, error) { return key, nil })
}

// Confirm checks a request VerifyCached accepted with verified against the key's current
// record (nil when it no longer exists), read after the request arrived: it answers the
// 401 Verify would (unknown, revoked, or a signature the current secret does not make) and
// keeps the cache in step with the record.
func (v *Verifier) Confirm(verified, current *checkout.APIKey, header, method, pathWithQuery string, body []byte) error {
	if current != nil && current.RevokedAt == nil && current.Secret == verified.Secret && current.MerchantID == verified.MerchantID {
		return nil
	}
	v.forget(verified.ID)
	if current != nil && current.MerchantID != verified.MerchantID {
		return fmt.Errorf("api key %s moved to another merchant during the request", verified.ID)
	}
	_, err := v.verifyWith(context.Background(), header, method, pathWithQuery, body, func(context.Context, string) (*checkout.APIKey, error) {
		if current == nil {
			return nil, checkout.ErrNotFound
		}
		return current, nil
	})
	if err == nil {
		v.remember(current) // the secret changed and the request was signed with the new one
	}
	return err
}

// Cached reports whether VerifyCached has the key in memory (no lookup needed).
func (v *Verifier) Cached(keyID string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cache[keyID] != nil
}

func (v *Verifier) remember(k *checkout.APIKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil || len(v.cache) >= cacheMax {
		v.cache = map[string]*checkout.APIKey{}
	}
	v.cache[k.ID] = k
}

func (v *Verifier) forget(id string) {
	v.mu.Lock()
	delete(v.cache, id)
	v.mu.Unlock()
}

// ParseHeader splits "Bearer {key_id}:{ts}:{sig}" into its parts. sig must be 64 hex digits.
func ParseHeader(h string) (keyID string, ts int64, sig []byte, err error) {
	rest, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", 0, nil, errors.New("authorization must start with \"Bearer \"")
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return "", 0, nil, errors.New("authorization must be \"Bearer {key_id}:{ts}:{sig}\"")
	}
	keyID = parts[0]
	if keyID == "" || len(keyID) > 64 {
		return "", 0, nil, errors.New("key_id is empty or too long")
	}
	if len(parts[1]) == 0 || len(parts[1]) > 12 {
		return "", 0, nil, errors.New("ts must be Unix seconds")
	}
	ts, err = strconv.ParseInt(parts[1], 10, 64)
	if err != nil || ts <= 0 {
		return "", 0, nil, errors.New("ts must be Unix seconds")
	}
	if len(parts[2]) != 64 {
		return "", 0, nil, errors.New("sig must be 64 lowercase hex digits")
	}
	sig, err = hex.DecodeString(parts[2])
	if err != nil || strings.ToLower(parts[2]) != parts[2] {
		return "", 0, nil, errors.New("sig must be 64 lowercase hex digits")
	}
	return keyID, ts, sig, nil
}
