package checkout

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Decimals is the number of decimals of USDT on both TRON and Ethereum.
const Decimals = 6

// Unit is one USDT in base units.
const Unit Amount = 1_000_000

// MaxAmount bounds any order amount: one billion USDT. Larger requests are refused as absurd,
// and the bound keeps every sum of order amounts exact in 64-bit and in Lua's doubles (< 2^53).
const MaxAmount Amount = 1_000_000_000 * Unit

// MaxTransfer bounds the value of one transfer the watchers report: 100 billion USDT, more
// than the whole supply of USDT on either network, so no real transfer is refused. A log with
// a larger value is recorded as an anomaly for an operator and never enters the feed. The
// bound leaves room for sums: 92 transfers at the bound still fit in an Amount (int64), and
// Amount's JSON form decodes every int64, so an order never becomes unreadable because of what
// it received.
const MaxTransfer Amount = 100_000_000_000 * Unit

// Amount is a quantity of USDT in integer base units (1 USDT = 1,000,000). Never a float.
type Amount int64

// Errors returned by ParseAmount.
var (
	ErrAmountSyntax    = errors.New("amount must be a decimal string such as \"99.99\"")
	ErrAmountPrecision = errors.New("amount has more than 6 decimals")
	ErrAmountRange     = errors.New("amount must be greater than 0 and at most 1000000000")
)

// ParseAmount parses a positive decimal string with at most 6 decimals ("99.99", "0.000001").
// It refuses signs, exponents, spaces, leading zeros ("007"), a bare or trailing dot, zero, and
// anything above MaxAmount.
func ParseAmount(s string) (Amount, error) {
	a, err := parseDecimal(s)
	if err != nil {
		return 0, err
	}
	if a <= 0 || a > MaxAmount {
		return 0, ErrAmountRange
	}
	return a, nil
}

// parseDecimal parses a non-negative decimal string with at most Decimals decimals, up to
// the largest Amount (math.MaxInt64 base units); ParseAmount narrows the range for orders.
func parseDecimal(s string) (Amount, error) {
	u, err := parseMagnitude(s)
	if err != nil {
		return 0, err
	}
	if u > math.MaxInt64 {
		return 0, ErrAmountRange
	}
	return Amount(u), nil
}

// parseMagnitude parses a decimal string with at most Decimals decimals into base units, up
// to 13 whole digits (above any Amount); the caller checks the range.
func parseMagnitude(s string) (uint64, error) {
	if len(s) == 0 || len(s) > 32 {
		return 0, ErrAmountSyntax
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, ErrAmountSyntax
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, ErrAmountSyntax
	}
	if len(frac) > Decimals {
		return 0, ErrAmountPrecision
	}
	// 13 digits hold the largest Amount (9,223,372,036,854 USDT) and, times Unit, still fit
	// in a uint64, so the arithmetic below cannot overflow.
	if len(whole) > 13 {
		return 0, ErrAmountRange
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return 0, ErrAmountSyntax
	}
	f := uint64(0)
	if frac != "" {
		f, _ = strconv.ParseUint(frac+strings.Repeat("0", Decimals-len(frac)), 10, 64)
	}
	return w*uint64(Unit) + f, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the amount as a canonical decimal string: no trailing zeros in the fraction,
// no fraction at all for whole amounts ("100", "99.99", "0.000001", "-1.5").
func (a Amount) String() string {
	neg := a < 0
	u := uint64(a)
	if neg {
		u = uint64(-a)
	}
	whole, frac := u/uint64(Unit), u%uint64(Unit)
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		fs := fmt.Sprintf("%06d", frac)
		s += "." + strings.TrimRight(fs, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON encodes the amount as a JSON string, never a number.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(a.String())), nil
}

// UnmarshalJSON accepts only a JSON string holding a decimal (zero allowed, for amount_paid),
// and reads back every value MarshalJSON writes: the whole int64 range, negatives included.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return ErrAmountSyntax
	}
	digits, neg := strings.CutPrefix(s, "-")
	u, err := parseMagnitude(digits)
	if err != nil {
		return err
	}
	switch {
	case !neg && u > math.MaxInt64, neg && u > 1<<63:
		return ErrAmountRange
	case neg:
		*a = Amount(-u) // two's complement: exact down to math.MinInt64
	default:
		*a = Amount(u)
	}
	return nil
}

// Tolerance is an underpayment tolerance in parts per million of the amount
// (tolerance_percent 0.01 = 1 % = 10,000 ppm). 0 ≤ Tolerance < 1,000,000.
type Tolerance int64

// DefaultTolerance is the API's default tolerance_percent, 0.01 (1 %).
const DefaultTolerance Tolerance = 10_000

// ErrTolerance is returned by ParseTolerance for a value outside [0, 1) or finer than 1e-6.
var ErrTolerance = errors.New("tolerance_percent must be a number with 0 <= x < 1 and at most 6 decimals")

// ParseTolerance parses a JSON number such as 0.01 or 1e-2 without going through a float.
func ParseTolerance(num string) (Tolerance, error) {
	mant, exp, ok := strings.Cut(strings.ToLower(num), "e")
	e := 0
	if ok {
		v, err := strconv.Atoi(exp)
		if err != nil || v < -12 || v > 12 {
			return 0, ErrTolerance
		}
		e = v
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, ErrTolerance
	}
	digits := strings.TrimLeft(whole+frac, "0")
	// value = digits × 10^(e - len(frac)); in ppm: × 10^(e - len(frac) + 6)
	shift := e - len(frac) + Decimals
	if digits == "" {
		return 0, nil
	}
	for shift < 0 {
		if digits[len(digits)-1] != '0' {
			return 0, ErrTolerance
		}
		digits = digits[:len(digits)-1]
		shift++
	}
	if len(digits)+shift > 7 {
		return 0, ErrTolerance
	}
	v, err := strconv.ParseInt(digits+strings.Repeat("0", shift), 10, 64)
	if err != nil || v >= 1_000_000 {
		return 0, ErrTolerance
	}
	return Tolerance(v), nil
}

// String formats the tolerance as a decimal fraction ("0.01").
func (t Tolerance) String() string {
	if t == 0 {
		return "0"
	}
	s := strings.TrimRight(fmt.Sprintf("0.%06d", int64(t)), "0")
	return s
}

// MarshalJSON encodes the tolerance as a JSON number (0.01), as the API documents it.
func (t Tolerance) MarshalJSON() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalJSON parses a JSON number with ParseTolerance.
func (t *Tolerance) UnmarshalJSON(b []byte) error {
	v, err := ParseTolerance(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MinPaid is the smallest confirmed total that settles an order as PAID:
// ceil(amount × (1 − tolerance)), computed exactly in integers. Rounding favours the merchant:
// a bound that falls between two base units is rounded up, so the tolerance never grants more
// than it says.
func MinPaid(amount Amount, tol Tolerance) Amount {
	if amount <= 0 || tol <= 0 {
		return amount
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(tol))
	discount, _ := bits.Div64(hi, lo, 1_000_000) // floor(amount × tol / 1e6); quotient < amount
	return amount - Amount(discount)
}
