package orders

import (
	"encoding/json"
	"testing"
)

// createBody is what bench/load and a typical merchant send.
var createBody = []byte(`{"amount":"99.99","currency":"USDT","network":"TRC20","description":"load","metadata":{"cart":"12-3456"}}`)

func BenchmarkParseCreate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCreate(createBody, "", Policy{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateParamsHash(b *testing.B) {
	p, err := ParseCreate(createBody, "", Policy{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Hash()
	}
}

// plainString must agree with json.Unmarshal wherever it answers.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"a"`, `""`, `"é"`, `"\u0041"`, `"a\"b"`, "\"\xff\"", "\"\x01\"", `"`, `a`, `"a"b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		got, ok := plainString(v)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(v, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q, json.Unmarshal = %q, %v", v, got, want, err)
		}
	})
}
