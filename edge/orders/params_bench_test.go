package orders

import "testing"

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
