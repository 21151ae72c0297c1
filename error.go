package checkout

import (
	"errors"
	"fmt"
	"slices"
)

// ErrorType is the broad class of an API error, as in the error body's "type".
type ErrorType string

// The error types.
const (
	InvalidRequest ErrorType = "invalid_request_error" // 400, 404, 405, 409, 413, 422: fix the request
	Authentication ErrorType = "authentication_error"  // 401
	RateLimit      ErrorType = "rate_limit_error"      // 429: slow down, see Retry-After
	APIError       ErrorType = "api_error"             // 5xx: safe to retry
)

// Code is an API error code, as in the error body's "code": one of the constants below, each
// with one HTTP status and type (see HTTPStatus, Type). The error table in docs/api.md lists them
// all. A Code is an error only so errors.Is(err, CodeInvalidAmount) matches an *Error (or the
// SDK's client.Error) with that code; return an *Error, not a bare Code.
type Code string

// The error codes, by HTTP status.
const (
	// 400 invalid_request_error
	CodeParameterMissing        Code = "parameter_missing"
	CodeInvalidAmount           Code = "invalid_amount"
	CodeInvalidCurrency         Code = "invalid_currency"
	CodeInvalidNetwork          Code = "invalid_network"
	CodeNetworkNotEnabled       Code = "network_not_enabled"
	CodeInvalidTolerance        Code = "invalid_tolerance"
	CodeInvalidURL              Code = "invalid_url"
	CodeReturnURLHostNotAllowed Code = "return_url_host_not_allowed"
	CodeInvalidMetadata         Code = "invalid_metadata"
	CodeInvalidDescription      Code = "invalid_description"
	CodeInvalidIdempotencyKey   Code = "invalid_idempotency_key"
	CodeInvalidType             Code = "invalid_type"
	CodeUnknownParameter        Code = "unknown_parameter"
	CodeDuplicateParameter      Code = "duplicate_parameter"
	CodeInvalidJSON             Code = "invalid_json"
	CodeInvalidLastEventID      Code = "invalid_last_event_id"
	CodeBadRequest              Code = "bad_request" // the HTTP request itself could not be read
	// 401 authentication_error
	CodeMissingAuthorization   Code = "missing_authorization"
	CodeMalformedAuthorization Code = "malformed_authorization"
	CodeTimestampOutOfRange    Code = "timestamp_out_of_range"
	CodeUnknownAPIKey          Code = "unknown_api_key"
	CodeRevokedAPIKey          Code = "revoked_api_key"
	CodeInvalidSignature       Code = "invalid_signature"
	// 404, 405, 409, 413, 422 invalid_request_error
	CodeResourceMissing    Code = "resource_missing"
	CodeRouteNotFound      Code = "route_not_found"
	CodeMethodNotAllowed   Code = "method_not_allowed"
	CodeDeliveryBusy       Code = "delivery_busy"
	CodeDuplicateRequest   Code = "duplicate_request"
	CodeOrderNotCancelable Code = "order_not_cancelable"
	// NetworkSwitchNotAllowed: the order does not let its customer change network.
	CodeNetworkSwitchNotAllowed Code = "network_switch_not_allowed"
	// OrderNotSwitchable: something was received for the order, or it is terminal or past
	// its expiry, so it keeps its network.
	CodeOrderNotSwitchable   Code = "order_not_switchable"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeIdempotencyKeyReused Code = "idempotency_key_reused"
	// PayAmountsExhausted: every (address, pay_amount) pair within the merchant's offset cap
	// is reserved by open orders (addresses mode); nothing was stored.
	CodePayAmountsExhausted Code = "pay_amounts_exhausted"
	// ClaimRefused: the claimed transfer cannot be credited to this order (the message says why).
	CodeClaimRefused Code = "claim_refused"
	// TransferCredited: the claimed transfer is already credited to another order.
	CodeTransferCredited Code = "transfer_already_credited"
	// 429 rate_limit_error
	CodeRateLimited    Code = "rate_limited"
	CodeTooManyStreams Code = "too_many_streams"
	// 5xx api_error
	CodeInternalError      Code = "internal_error"
	CodeStreamsAtCapacity  Code = "streams_at_capacity"
	CodeStreamsUnavailable Code = "streams_unavailable"
)

// codeClass is a code's HTTP status and type.
type codeClass struct {
	status int
	typ    ErrorType
}

// codes is the table: every code the API answers with.
var codes = map[Code]codeClass{
	CodeParameterMissing:        {400, InvalidRequest},
	CodeInvalidAmount:           {400, InvalidRequest},
	CodeInvalidCurrency:         {400, InvalidRequest},
	CodeInvalidNetwork:          {400, InvalidRequest},
	CodeNetworkNotEnabled:       {400, InvalidRequest},
	CodeInvalidTolerance:        {400, InvalidRequest},
	CodeInvalidURL:              {400, InvalidRequest},
	CodeReturnURLHostNotAllowed: {400, InvalidRequest},
	CodeInvalidMetadata:         {400, InvalidRequest},
	CodeInvalidDescription:      {400, InvalidRequest},
	CodeInvalidIdempotencyKey:   {400, InvalidRequest},
	CodeInvalidType:             {400, InvalidRequest},
	CodeUnknownParameter:        {400, InvalidRequest},
	CodeDuplicateParameter:      {400, InvalidRequest},
	CodeInvalidJSON:             {400, InvalidRequest},
	CodeInvalidLastEventID:      {400, InvalidRequest},
	CodeBadRequest:              {400, InvalidRequest},

	CodeMissingAuthorization:   {401, Authentication},
	CodeMalformedAuthorization: {401, Authentication},
	CodeTimestampOutOfRange:    {401, Authentication},
	CodeUnknownAPIKey:          {401, Authentication},
	CodeRevokedAPIKey:          {401, Authentication},
	CodeInvalidSignature:       {401, Authentication},

	CodeResourceMissing:         {404, InvalidRequest},
	CodeRouteNotFound:           {404, InvalidRequest},
	CodeMethodNotAllowed:        {405, InvalidRequest},
	CodeDeliveryBusy:            {409, InvalidRequest},
	CodeDuplicateRequest:        {409, InvalidRequest},
	CodeOrderNotCancelable:      {409, InvalidRequest},
	CodeNetworkSwitchNotAllowed: {409, InvalidRequest},
	CodeOrderNotSwitchable:      {409, InvalidRequest},
	CodeBodyTooLarge:            {413, InvalidRequest},
	CodeIdempotencyKeyReused:    {422, InvalidRequest},
	CodePayAmountsExhausted:     {409, InvalidRequest},
	CodeClaimRefused:            {422, InvalidRequest},
	CodeTransferCredited:        {409, InvalidRequest},

	CodeRateLimited:    {429, RateLimit},
	CodeTooManyStreams: {429, RateLimit},

	CodeInternalError:      {500, APIError},
	CodeStreamsAtCapacity:  {503, APIError},
	CodeStreamsUnavailable: {503, APIError},
}

// Codes returns every code of the table, sorted.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// HTTPStatus is the code's HTTP status; 500 for a code not in the table.
func (c Code) HTTPStatus() int {
	if k, ok := codes[c]; ok {
		return k.status
	}
	return 500
}

// Type is the code's error type; api_error for a code not in the table.
func (c Code) Type() ErrorType {
	if k, ok := codes[c]; ok {
		return k.typ
	}
	return APIError
}

// Known reports whether c is in the table.
func (c Code) Known() bool { _, ok := codes[c]; return ok }

func (c Code) Error() string { return string(c) }

// Error is the single error shape of the API:
// {"error":{"type":"…","code":"…","message":"…","param":"…"}}.
type Error struct {
	HTTPStatus int       `json:"-"`
	Type       ErrorType `json:"type"`
	Code       Code      `json:"code"`
	Message    string    `json:"message"`
	Param      string    `json:"param,omitempty"`
}

// NewError returns the error of code c, with its status and type from the table, about the
// parameter param ("" for none).
func NewError(c Code, param, msg string) *Error {
	return &Error{HTTPStatus: c.HTTPStatus(), Type: c.Type(), Code: c, Param: param, Message: msg}
}

// Errorf is NewError with a formatted message.
func Errorf(c Code, param, format string, args ...any) *Error {
	return NewError(c, param, fmt.Sprintf(format, args...))
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s, param %s): %s", e.Code, e.Type, e.Param, e.Message)
	}
	return fmt.Sprintf("%s (%s): %s", e.Code, e.Type, e.Message)
}

// Is reports whether target is e's Code: errors.Is(err, checkout.CodeInvalidAmount).
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// Invalid returns an error of code (a 400 invalid_request_error) about one parameter.
func Invalid(code Code, param, format string, args ...any) *Error {
	return Errorf(code, param, format, args...)
}

// NotFound returns the 404 for an order the caller may not see (unknown or another merchant's).
func NotFound(what string) *Error {
	return NewError(CodeResourceMissing, "", "no such "+what)
}

// ErrNotFound is the sentinel every storage layer wraps for a missing record, so consumers
// test for it without importing the store.
var ErrNotFound = errors.New("not found")
