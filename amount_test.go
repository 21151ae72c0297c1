package checkout

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand"
	"testing"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Amount
		err  error
	}{
		{"cents", "99.99", 99_990_000, nil},
		{"smallest", "0.000001", 1, nil},
		{"whole", "1", Unit, nil},
		{"max", "1000000000", MaxAmount, nil},
		{"six decimals", "1.123456", 1_123_456, nil},
		{"empty", "", 0, ErrAmountSyntax},
		{"zero", "0", 0, ErrAmountRange},
		{"zero decimals", "0.0", 0, ErrAmountRange},
		{"negative", "-1", 0, ErrAmountSyntax},
		{"plus", "+1", 0, ErrAmountSyntax},
		{"exponent", "1e3", 0, ErrAmountSyntax},
		{"leading space", " 1", 0, ErrAmountSyntax},
		{"trailing space", "1 ", 0, ErrAmountSyntax},
		{"leading zero", "01", 0, ErrAmountSyntax},
		{"bare dot", "1.", 0, ErrAmountSyntax},
		{"no whole", ".5", 0, ErrAmountSyntax},
		{"seven decimals", "1.1234567", 0, ErrAmountPrecision},
		{"above max", "1000000000.000001", 0, ErrAmountRange},
		{"absurd", "99999999999", 0, ErrAmountRange},
		{"comma", "1,5", 0, ErrAmountSyntax},
		{"NaN", "NaN", 0, ErrAmountSyntax},
		{"arabic digits", "١٢", 0, ErrAmountSyntax},
		{"too long", "1.00000000000000000000000000000000", 0, ErrAmountSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAmount(c.in)
			if !errors.Is(err, c.err) || got != c.want {
				t.Errorf("ParseAmount(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}

func TestAmountFormatAndJSON(t *testing.T) {
	for in, want := range map[string]string{"1.50": "1.5", "100": "100", "0.000001": "0.000001", "99.990": "99.99"} {
		a, err := ParseAmount(in)
		if err != nil || a.String() != want {
			t.Errorf("%q: %q %v, want %q", in, a.String(), err, want)
		}
	}
	if s := Amount(-1_500_000).String(); s != "-1.5" {
		t.Errorf("negative: %q", s)
	}
	b, _ := json.Marshal(Amount(99_990_000))
	if string(b) != `"99.99"` {
		t.Errorf("JSON %s", b)
	}
	var a Amount
	if err := json.Unmarshal([]byte(`99.99`), &a); err == nil {
		t.Error("a JSON number was accepted as an amount")
	}
	if err := json.Unmarshal([]byte(`"0"`), &a); err != nil || a != 0 {
		t.Errorf("zero (amount_paid) refused: %v", err)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"99.99", "0.000001", "1000000000", "1e3", "-1", "01", "1.", ".5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		if a <= 0 || a > MaxAmount {
			t.Fatalf("%q parsed out of range: %d", s, a)
		}
		back, err := ParseAmount(a.String())
		if err != nil || back != a {
			t.Fatalf("%q → %d → %q → %d, %v", s, a, a.String(), back, err)
		}
	})
}

func TestParseTolerance(t *testing.T) {
	ok := map[string]Tolerance{"0.01": 10_000, "0": 0, "0.0": 0, "0.999999": 999_999, "1e-2": 10_000, "0.5": 500_000, "5E-1": 500_000, "0.000001": 1}
	for in, want := range ok {
		if got, err := ParseTolerance(in); err != nil || got != want {
			t.Errorf("ParseTolerance(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"1", "1.0", "-0.01", "0.0000001", "2", "", "abc", "1e", "0.01.0", "1e-99", "\"0.01\""} {
		if got, err := ParseTolerance(in); !errors.Is(err, ErrTolerance) {
			t.Errorf("ParseTolerance(%q) = %d, %v; want an error", in, got, err)
		}
	}
	b, _ := json.Marshal(Tolerance(10_000))
	if string(b) != "0.01" {
		t.Errorf("JSON %s", b)
	}
}

func FuzzParseTolerance(f *testing.F) {
	for _, s := range []string{"0.01", "1e-2", "0", "1", "-0.5", "0.0000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTolerance(s)
		if err == nil && (v < 0 || v >= 1_000_000) {
			t.Fatalf("%q parsed out of range: %d", s, v)
		}
	})
}

func TestMinPaid(t *testing.T) {
	cases := []struct {
		amount Amount
		tol    Tolerance
		want   Amount
	}{
		{100 * Unit, 10_000, 99 * Unit},
		{1_000_001, 10_000, 990_001}, // 990000.99 rounds UP: the tolerance never grants more
		{100 * Unit, 0, 100 * Unit},
		{MaxAmount, 999_999, MaxAmount / 1_000_000},
		{1, 999_999, 1},
	}
	for _, c := range cases {
		if got := MinPaid(c.amount, c.tol); got != c.want {
			t.Errorf("MinPaid(%d, %d) = %d, want %d", c.amount, c.tol, got, c.want)
		}
	}
	// Property: equals ceil(amount × (1e6 − tol) / 1e6) in exact big arithmetic.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 10_000; i++ {
		a := Amount(r.Int63n(int64(MaxAmount)) + 1)
		tol := Tolerance(r.Int63n(1_000_000))
		num := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(1_000_000-int64(tol)))
		q, m := new(big.Int).QuoRem(num, big.NewInt(1_000_000), new(big.Int))
		if m.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		if got := MinPaid(a, tol); int64(got) != q.Int64() {
			t.Fatalf("MinPaid(%d, %d) = %d, want %s", a, tol, got, q)
		}
	}
}

// TestAmountJSONRoundTripsEveryValue: whatever an Amount holds (a transfer at the ingestion
// bound, a sum of many of them, a negative correction) decodes back from its own JSON, so a
// stored order never becomes unreadable because of what it received.
func TestAmountJSONRoundTripsEveryValue(t *testing.T) {
	values := []Amount{0, 1, -1, MaxAmount, 10_000_000_000 * Unit, MaxTransfer, 2 * MaxTransfer,
		90 * MaxTransfer, Amount(math.MaxInt64), Amount(math.MinInt64), -MaxTransfer}
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 1000; i++ {
		values = append(values, Amount(r.Int63()), -Amount(r.Int63()))
	}
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back Amount
		if err := json.Unmarshal(b, &back); err != nil || back != v {
			t.Fatalf("%d → %s → %d, %v", v, b, back, err)
		}
	}
	for _, bad := range []string{`"9223372036854.775808"`, `"-9223372036854.775809"`, `"99999999999999"`, `"--1"`, `"-"`} {
		var a Amount
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("%s decoded as %d", bad, a)
		}
	}
	if MaxTransfer < MaxAmount || MaxTransfer > Amount(math.MaxInt64)/64 {
		t.Errorf("MaxTransfer %d: must cover any order amount and leave room for sums", MaxTransfer)
	}
}
