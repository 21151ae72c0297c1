package orders

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/outbox"
)

// Bounds on create-order input.
const (
	MaxBodyBytes      = 64 << 10
	MaxMetadataKeys   = 50
	MaxMetadataKeyLen = 40
	MaxMetadataValLen = 500
	MaxDescriptionLen = 500
	MaxURLLen         = checkout.MaxURLLen
	MaxIdempotencyLen = 255
)

// Tolerance bounds. A tolerance lets an order turn PAID with less than its amount, so the
// operator caps it (Policy.MaxTolerance, edge serve --max-tolerance), and no setting goes past
// ToleranceCeiling.
const (
	DefaultMaxTolerance checkout.Tolerance = 100_000 // 0.1 = 10 %
	ToleranceCeiling    checkout.Tolerance = 250_000 // 0.25 = 25 %
)

// ParseMaxTolerance parses an operator's cap such as "0.1" (0 ≤ x ≤ ToleranceCeiling).
func ParseMaxTolerance(s string) (checkout.Tolerance, error) {
	t, err := checkout.ParseTolerance(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("max tolerance %q: %w", s, err)
	}
	if t > ToleranceCeiling {
		return 0, fmt.Errorf("max tolerance %s is above the ceiling %s", t, ToleranceCeiling)
	}
	return t, nil
}

// CreateParams is a validated create-order request.
type CreateParams struct {
	Amount      checkout.Amount    `json:"amount"`
	Network     checkout.Network   `json:"network"`
	Description string             `json:"description"`
	ReturnURL   string             `json:"return_url"`
	WebhookURL  string             `json:"webhook_url"`
	Metadata    map[string]string  `json:"metadata"`
	Tolerance   checkout.Tolerance `json:"tolerance_percent"`
	// AllowNetworkSwitch: the request's allow_network_switch; nil = the merchant's default.
	// Left out of Hash when absent, so requests without it hash as they always did.
	AllowNetworkSwitch *bool  `json:"allow_network_switch,omitempty"`
	IdempotencyKey     string `json:"-"`
}

// Hash identifies the parameters (not the idempotency key) for idempotent replays: the same
// key with other parameters is refused. Canonical: amounts parsed, map keys sorted.
func (p *CreateParams) Hash() string {
	b, _ := json.Marshal(p) // cannot fail: plain strings and integers
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// createRequest mirrors the JSON body; raw fields let us check types ourselves (an amount
// must be a string, never a JSON number).
type createRequest struct {
	Amount           json.RawMessage `json:"amount"`
	Currency         *string         `json:"currency"`
	Network          *string         `json:"network"`
	Description      *string         `json:"description"`
	ReturnURL        *string         `json:"return_url"`
	WebhookURL       *string         `json:"webhook_url"`
	Metadata         json.RawMessage `json:"metadata"`
	IdempotencyKey   *string         `json:"idempotency_key"`
	TolerancePercent json.RawMessage `json:"tolerance_percent"`
	// AllowNetworkSwitch: true lets the customer change network on the checkout.
	AllowNetworkSwitch *bool `json:"allow_network_switch"`
}

// Policy is what validation needs to know beyond the body.
type Policy struct {
	Dev         bool     // allow http:// URLs to loopback hosts
	ReturnHosts []string // allowed return_url hosts; empty allows any
	// MaxTolerance is the largest tolerance_percent accepted; 0 = DefaultMaxTolerance, and
	// never more than ToleranceCeiling.
	MaxTolerance checkout.Tolerance
}

func (pol Policy) maxTolerance() checkout.Tolerance {
	switch {
	case pol.MaxTolerance <= 0:
		return DefaultMaxTolerance
	case pol.MaxTolerance > ToleranceCeiling:
		return ToleranceCeiling
	}
	return pol.MaxTolerance
}

// invalid is the error of code (a 400 of the root table) about param.
func invalid(code checkout.Code, param, msg string) *checkout.Error {
	return checkout.NewError(code, param, msg)
}

// ParseCreate decodes and validates a create-order body. Unknown fields are rejected (a typo
// such as "webhookUrl" must not silently drop a setting). headerKey is the Idempotency-Key
// header, accepted as an alternative to the body field. Every failure is a *checkout.Error.
func ParseCreate(body []byte, headerKey string, pol Policy) (*CreateParams, error) {
	if len(body) > MaxBodyBytes {
		return nil, checkout.NewError(checkout.CodeBodyTooLarge, "", "request body exceeds 64 KiB")
	}
	if e := checkKeys(body); e != nil {
		return nil, e
	}
	var req createRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid(checkout.CodeInvalidJSON, "", "request body must be a single JSON object")
	}
	p := &CreateParams{Metadata: map[string]string{}, Tolerance: checkout.DefaultTolerance}

	// amount: a decimal string.
	switch {
	case isAbsent(req.Amount):
		return nil, invalid(checkout.CodeParameterMissing, "amount", "amount is required")
	case req.Amount[0] != '"':
		return nil, invalid(checkout.CodeInvalidAmount, "amount", "amount must be a decimal string such as \"99.99\", not a JSON number")
	}
	var amountStr string
	if err := json.Unmarshal(req.Amount, &amountStr); err != nil {
		return nil, invalid(checkout.CodeInvalidAmount, "amount", "amount must be a decimal string")
	}
	a, err := checkout.ParseAmount(amountStr)
	if err != nil {
		return nil, invalid(checkout.CodeInvalidAmount, "amount", err.Error())
	}
	p.Amount = a

	if req.Currency == nil {
		return nil, invalid(checkout.CodeParameterMissing, "currency", "currency is required")
	}
	if *req.Currency != checkout.Currency {
		return nil, invalid(checkout.CodeInvalidCurrency, "currency", "currency must be \"USDT\"")
	}
	if req.Network == nil {
		return nil, invalid(checkout.CodeParameterMissing, "network", "network is required")
	}
	n, err := checkout.ParseNetwork(*req.Network)
	if err != nil {
		return nil, invalid(checkout.CodeInvalidNetwork, "network", err.Error())
	}
	p.Network = n

	if req.Description != nil {
		if utf8.RuneCountInString(*req.Description) > MaxDescriptionLen {
			return nil, invalid(checkout.CodeInvalidDescription, "description", "description is longer than 500 characters")
		}
		if r, bad := checkout.HiddenRune(*req.Description, true); bad {
			return nil, invalid(checkout.CodeInvalidDescription, "description", "description contains "+runeName(r)+
				": control characters, bidi controls and invisible formatting characters are not allowed (newlines are)")
		}
		p.Description = *req.Description
	}
	if req.ReturnURL != nil && *req.ReturnURL != "" {
		u, err := checkout.ParseReturnURL(*req.ReturnURL, pol.Dev)
		if err != nil {
			return nil, urlError(err, "return_url")
		}
		if !hostAllowed(u.Hostname(), pol.ReturnHosts) {
			return nil, invalid(checkout.CodeReturnURLHostNotAllowed, "return_url",
				"return_url host is not on this merchant's allowed list")
		}
		p.ReturnURL = *req.ReturnURL
	}
	if req.WebhookURL != nil && *req.WebhookURL != "" {
		// Outside dev mode an internal host is refused now (the deliveries' SSRF guard would
		// refuse every attempt) rather than failing for 3 days.
		if _, err := checkout.ParseWebhookURL(*req.WebhookURL, pol.Dev, outbox.InternalHost); err != nil {
			return nil, urlError(err, "webhook_url")
		}
		p.WebhookURL = *req.WebhookURL
	}
	if !isAbsent(req.Metadata) {
		if p.Metadata, err = parseMetadata(req.Metadata); err != nil {
			return nil, err
		}
	}
	if !isAbsent(req.TolerancePercent) {
		if req.TolerancePercent[0] == '"' {
			return nil, invalid(checkout.CodeInvalidTolerance, "tolerance_percent", "tolerance_percent must be a JSON number such as 0.01")
		}
		t, err := checkout.ParseTolerance(string(req.TolerancePercent))
		if err != nil {
			return nil, invalid(checkout.CodeInvalidTolerance, "tolerance_percent", err.Error())
		}
		if max := pol.maxTolerance(); t > max {
			return nil, invalid(checkout.CodeInvalidTolerance, "tolerance_percent",
				"tolerance_percent must be at most "+max.String()+" on this gateway")
		}
		p.Tolerance = t
	}
	p.AllowNetworkSwitch = req.AllowNetworkSwitch
	key := headerKey
	if req.IdempotencyKey != nil {
		if headerKey != "" && headerKey != *req.IdempotencyKey {
			return nil, invalid(checkout.CodeInvalidIdempotencyKey, "idempotency_key", "Idempotency-Key header and idempotency_key differ")
		}
		key = *req.IdempotencyKey
	}
	if key != "" || req.IdempotencyKey != nil {
		if len(key) == 0 || len(key) > MaxIdempotencyLen || !printable(key) {
			return nil, invalid(checkout.CodeInvalidIdempotencyKey, "idempotency_key",
				"idempotency_key must be 1 to 255 printable ASCII characters")
		}
	}
	p.IdempotencyKey = key
	return p, nil
}

// paramNames are the create body's parameters, exactly as spelled (from createRequest's tags).
var paramNames = func() map[string]bool {
	names := map[string]bool{}
	t := reflect.TypeOf(createRequest{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}()

// checkKeys walks the body's tokens before it is decoded and refuses
//   - a key given twice in one object, at any depth (encoding/json keeps the last, so
//     {"amount":"1","amount":"1000"} would be an order for 1000 while a log, a proxy or the
//     merchant's own code that reads the first saw 1), compared after unescaping;
//   - a top-level key that is not exactly a parameter name (encoding/json matches field names
//     case-insensitively, so "AMOUNT" would be a second, silent amount).
//
// Syntax errors are left to the decoder that follows, which reports them.
func checkKeys(body []byte) *checkout.Error {
	type frame struct {
		object    bool
		expectKey bool
		path      string // "" for the body itself, else the param naming this container
		keys      map[string]bool
		key       string // the key whose value comes next
	}
	param := func(f *frame, key string) string {
		if f.path == "" {
			return key
		}
		return f.path + "[" + key + "]"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	value := func() { // a value was read: the object it belongs to expects a key again
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error the decoder reports
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				path := ""
				if top != nil {
					if top.object {
						path = param(top, top.key)
					} else {
						path = top.path + "[]"
					}
				}
				value()
				stack = append(stack, &frame{object: v == '{', expectKey: true, path: path, keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.expectKey {
				if top.keys[v] {
					return invalid(checkout.CodeDuplicateParameter, param(top, v), param(top, v)+" is given more than once")
				}
				if len(stack) == 1 && !paramNames[v] {
					return invalid(checkout.CodeUnknownParameter, v, "unknown parameter "+v)
				}
				top.keys[v], top.key, top.expectKey = true, v, false
				continue
			}
			value()
		default:
			value()
		}
	}
}

func isAbsent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func decodeError(err error) *checkout.Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return invalid(checkout.CodeInvalidJSON, "", "request body must be a JSON object")
	case errors.As(err, &typeErr):
		return invalid(checkout.CodeInvalidType, typeErr.Field, typeErr.Field+" has the wrong JSON type")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return invalid(checkout.CodeInvalidJSON, "", "request body is not valid JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, "\"")
		return invalid(checkout.CodeUnknownParameter, name, "unknown parameter "+name)
	}
	return invalid(checkout.CodeInvalidJSON, "", "request body is not a valid JSON object")
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	var fields map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return nil, invalid(checkout.CodeInvalidMetadata, "metadata", "metadata must be an object of string keys to string values")
	}
	if len(fields) > MaxMetadataKeys {
		return nil, invalid(checkout.CodeInvalidMetadata, "metadata", "metadata has more than 50 keys")
	}
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		param := "metadata[" + k + "]"
		if k == "" || utf8.RuneCountInString(k) > MaxMetadataKeyLen {
			return nil, invalid(checkout.CodeInvalidMetadata, "metadata", "metadata keys must be 1 to 40 characters")
		}
		if r, bad := checkout.HiddenRune(k, false); bad {
			// The key itself is not named: it is what cannot be shown.
			return nil, invalid(checkout.CodeInvalidMetadata, "metadata", "a metadata key contains "+runeName(r)+
				": control characters, newlines, bidi controls and invisible formatting characters are not allowed")
		}
		s, ok := plainString(v)
		if !ok && (len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil) {
			return nil, invalid(checkout.CodeInvalidMetadata, param, "metadata values must be strings")
		}
		if utf8.RuneCountInString(s) > MaxMetadataValLen {
			return nil, invalid(checkout.CodeInvalidMetadata, param, "metadata values must be at most 500 characters")
		}
		if r, bad := checkout.HiddenRune(s, true); bad {
			return nil, invalid(checkout.CodeInvalidMetadata, param, param+" contains "+runeName(r)+
				": control characters, bidi controls and invisible formatting characters are not allowed (newlines are)")
		}
		out[k] = s
	}
	return out, nil
}

// plainString is the value of a JSON string literal with no escapes, no control characters
// and valid UTF-8: exactly what json.Unmarshal makes of it, without the decoder's reflection
// and validation pass (metadata values are almost always such strings). ok is false for
// anything else, which the caller decodes with json.Unmarshal.
func plainString(v json.RawMessage) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// urlError maps the URL policy's refusal (checkout.ParseReturnURL, ParseWebhookURL) to the
// API's invalid_url error on param.
func urlError(err error, param string) *checkout.Error {
	var ue *checkout.URLError
	if !errors.As(err, &ue) {
		return invalid(checkout.CodeInvalidURL, param, param+" must be an absolute https URL")
	}
	switch ue.Reason {
	case checkout.URLNotAbsolute, checkout.URLScheme:
		return invalid(checkout.CodeInvalidURL, param, param+" must be an absolute https URL")
	}
	return invalid(checkout.CodeInvalidURL, param, ue.Error())
}

func hostAllowed(host string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(host, a) {
			return true
		}
	}
	return false
}

// runeName names a code point for an error message: "U+202E".
func runeName(r rune) string { return fmt.Sprintf("U+%04X", r) }

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
