package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Signature computes the request signature of the merchant API: lowercase hex
// HMAC-SHA256(secret, ts + "\n" + METHOD + "\n" + path-with-query + "\n" + hex(SHA-256(body))).
// The edge verifies with this same function.
func Signature(secret string, ts int64, method, pathWithQuery string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(method))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(pathWithQuery))
	mac.Write([]byte{'\n'})
	var hexSum [64]byte
	hex.Encode(hexSum[:], sum[:])
	mac.Write(hexSum[:])
	return hex.EncodeToString(mac.Sum(nil))
}

// Authorization returns the Authorization header value "Bearer {key_id}:{ts}:{sig}".
func Authorization(keyID, secret string, ts int64, method, pathWithQuery string, body []byte) string {
	return "Bearer " + keyID + ":" + strconv.FormatInt(ts, 10) + ":" + Signature(secret, ts, method, pathWithQuery, body)
}
