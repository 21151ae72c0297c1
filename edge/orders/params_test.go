package orders

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	checkout "github.com/mpchat/checkout"
)

func TestParseCreateAccepts(t *testing.T) {
	p, err := ParseCreate([]byte(`{"amount":"99.99","currency":"USDT","network":"TRC20","description":"d",
		"return_url":"https://shop.example/r?x=1","webhook_url":"https://shop.example/h","metadata":{"a":"b"},
		"idempotency_key":"k1","tolerance_percent":0.05}`), "", Policy{ReturnHosts: []string{"SHOP.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Amount != 99_990_000 || p.Network != checkout.TRC20 || p.Tolerance != 50_000 || p.IdempotencyKey != "k1" || p.Metadata["a"] != "b" {
		t.Errorf("%+v", p)
	}
	p, err = ParseCreate([]byte(`{"amount":"1","currency":"USDT","network":"ERC20"}`), "hdr-key", Policy{})
	if err != nil || p.Tolerance != checkout.DefaultTolerance || p.IdempotencyKey != "hdr-key" || p.Metadata == nil {
		t.Errorf("defaults/header key: %+v %v", p, err)
	}
	if _, err := ParseCreate([]byte(`{"amount":"1","currency":"USDT","network":"ERC20","return_url":"http://[::1]:8/r"}`), "", Policy{Dev: true}); err != nil {
		t.Errorf("dev loopback [::1]: %v", err)
	}
}

func TestParseCreateRefuses(t *testing.T) {
	base := `"amount":"1","currency":"USDT","network":"ERC20"`
	cases := []struct {
		name, body, header, code, param string
	}{
		{"metadata 51 keys", `{` + base + `,"metadata":{` + manyKeys(51) + `}}`, "", "invalid_metadata", "metadata"},
		{"metadata long key", `{` + base + `,"metadata":{"` + strings.Repeat("k", 41) + `":"v"}}`, "", "invalid_metadata", "metadata"},
		{"metadata long value", `{` + base + `,"metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, "", "invalid_metadata", "metadata[k]"},
		{"description 501", `{` + base + `,"description":"` + strings.Repeat("é", 501) + `"}`, "", "invalid_description", "description"},
		{"javascript url", `{` + base + `,"return_url":"javascript:alert(1)"}`, "", "invalid_url", "return_url"},
		{"credentials", `{` + base + `,"return_url":"https://u:p@shop.example/"}`, "", "invalid_url", "return_url"},
		{"long url", `{` + base + `,"return_url":"https://shop.example/` + strings.Repeat("a", 2048) + `"}`, "", "invalid_url", "return_url"},
		{"tolerance string", `{` + base + `,"tolerance_percent":"0.01"}`, "", "invalid_tolerance", "tolerance_percent"},
		{"key and header differ", `{` + base + `,"idempotency_key":"a"}`, "b", "invalid_idempotency_key", "idempotency_key"},
		{"key too long", `{` + base + `,"idempotency_key":"` + strings.Repeat("k", 256) + `"}`, "", "invalid_idempotency_key", "idempotency_key"},
		{"key control char", `{` + base + `,"idempotency_key":"a\u0001"}`, "", "invalid_idempotency_key", "idempotency_key"},
		{"key empty", `{` + base + `,"idempotency_key":""}`, "", "invalid_idempotency_key", "idempotency_key"},
		{"array body", `[1]`, "", "invalid_json", ""},
		{"duplicate amount", `{"amount":"1","amount":"1000","currency":"USDT","network":"ERC20"}`, "", "duplicate_parameter", "amount"},
		{"duplicate amount escaped", `{` + base + `,"\u0061mount":"1000"}`, "", "duplicate_parameter", "amount"},
		{"amount in other case", `{` + base + `,"AMOUNT":"1000"}`, "", "unknown_parameter", "AMOUNT"},
		{"duplicate metadata", `{` + base + `,"metadata":{"a":"1"},"metadata":{"a":"2"}}`, "", "duplicate_parameter", "metadata"},
		{"duplicate metadata key", `{` + base + `,"metadata":{"cart":"7","cart":"8"}}`, "", "duplicate_parameter", "metadata[cart]"},
		{"duplicate nested key", `{` + base + `,"metadata":{"a":{"x":1,"x":2}}}`, "", "duplicate_parameter", "metadata[a][x]"},
		{"description NUL", `{` + base + `,"description":"a\u0000b"}`, "", "invalid_description", "description"},
		{"description RLO", `{` + base + `,"description":"Pay \u202egpj.exe"}`, "", "invalid_description", "description"},
		{"description RLO raw", `{` + base + `,"description":"Pay ‮gpj.exe"}`, "", "invalid_description", "description"},
		{"description isolate", `{` + base + `,"description":"a\u2067b\u2069"}`, "", "invalid_description", "description"},
		{"description LRM", `{` + base + `,"description":"a\u200eb"}`, "", "invalid_description", "description"},
		{"description ALM", `{` + base + `,"description":"a\u061cb"}`, "", "invalid_description", "description"},
		{"description zero width space", `{` + base + `,"description":"a\u200bb"}`, "", "invalid_description", "description"},
		{"description BOM", `{` + base + `,"description":"\ufeffa"}`, "", "invalid_description", "description"},
		{"description CR", `{` + base + `,"description":"a\rb"}`, "", "invalid_description", "description"},
		{"description tab", `{` + base + `,"description":"a\tb"}`, "", "invalid_description", "description"},
		{"description C1", `{` + base + `,"description":"a\u0085b"}`, "", "invalid_description", "description"},
		{"description line separator", `{` + base + `,"description":"a\u2028b"}`, "", "invalid_description", "description"},
		{"description tag character", `{` + base + `,"description":"a\udb40\udc41"}`, "", "invalid_description", "description"},
		{"metadata key bidi", `{` + base + `,"metadata":{"a\u202e":"v"}}`, "", "invalid_metadata", "metadata"},
		{"metadata key newline", `{` + base + `,"metadata":{"a\nb":"v"}}`, "", "invalid_metadata", "metadata"},
		{"metadata value NUL", `{` + base + `,"metadata":{"k":"v\u0000"}}`, "", "invalid_metadata", "metadata[k]"},
		{"metadata value isolate", `{` + base + `,"metadata":{"k":"\u2066v"}}`, "", "invalid_metadata", "metadata[k]"},
		{"tolerance 0.999999", `{` + base + `,"tolerance_percent":0.999999}`, "", "invalid_tolerance", "tolerance_percent"},
		{"tolerance above default cap", `{` + base + `,"tolerance_percent":0.100001}`, "", "invalid_tolerance", "tolerance_percent"},
		{"return host with markup", `{` + base + `,"return_url":"https://x\"><b>INJECTED<i>.example/r"}`, "", "invalid_url", "return_url"},
		{"return host with quote", `{` + base + `,"return_url":"https://x'onmouseover='a'.example/"}`, "", "invalid_url", "return_url"},
		{"return host numeric", `{` + base + `,"return_url":"https://2130706433/"}`, "", "invalid_url", "return_url"},
		{"webhook host with markup", `{` + base + `,"webhook_url":"https://a(b)=c.example/h"}`, "", "invalid_url", "webhook_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCreate([]byte(c.body), c.header, Policy{})
			var e *checkout.Error
			if !errors.As(err, &e) || string(e.Code) != c.code || e.Param != c.param {
				t.Fatalf("got %v, want %s (%s)", err, c.code, c.param)
			}
		})
	}
}

func TestParseCreateToleranceCap(t *testing.T) {
	body := []byte(`{"amount":"1","currency":"USDT","network":"ERC20","tolerance_percent":0.1}`)
	if p, err := ParseCreate(body, "", Policy{}); err != nil || p.Tolerance != 100_000 {
		t.Errorf("0.1 at the default cap: %v %v", p, err)
	}
	body = []byte(`{"amount":"1","currency":"USDT","network":"ERC20","tolerance_percent":0.25}`)
	if p, err := ParseCreate(body, "", Policy{MaxTolerance: 900_000}); err != nil || p.Tolerance != ToleranceCeiling {
		t.Errorf("0.25 with an operator cap above the ceiling: %v %v", p, err)
	}
	for _, pol := range []struct {
		max checkout.Tolerance
		in  string
	}{{20_000, "0.03"}, {900_000, "0.3"}} {
		body := []byte(`{"amount":"1","currency":"USDT","network":"ERC20","tolerance_percent":` + pol.in + `}`)
		_, err := ParseCreate(body, "", Policy{MaxTolerance: pol.max})
		var e *checkout.Error
		if !errors.As(err, &e) || e.HTTPStatus != 400 || e.Code != "invalid_tolerance" || e.Param != "tolerance_percent" {
			t.Errorf("cap %v, tolerance %s: %v", pol.max, pol.in, err)
		}
	}
	for _, tc := range []struct {
		in   string
		want checkout.Tolerance
		ok   bool
	}{{"0.1", 100_000, true}, {"0", 0, true}, {"0.25", 250_000, true}, {"0.26", 0, false}, {"-1", 0, false}, {"x", 0, false}} {
		got, err := ParseMaxTolerance(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseMaxTolerance(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestParseCreateTextAllowed(t *testing.T) {
	// Newlines (shown as line breaks), emoji sequences joined by U+200D with variation
	// selectors, scripts that need U+200C, and right-to-left text without control characters.
	desc := "Line 1\nLine 2 👨\u200d👩\u200d👧 ❤\ufe0f می\u200cخواهم שלום"
	body, _ := json.Marshal(map[string]any{"amount": "1", "currency": "USDT", "network": "ERC20",
		"description": desc, "metadata": map[string]string{"note": "a\nb", "שם": "ערך"}})
	p, err := ParseCreate(body, "", Policy{})
	if err != nil || p.Description != desc || p.Metadata["note"] != "a\nb" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestParseCreateMetadataKeysAreCaseSensitive(t *testing.T) {
	p, err := ParseCreate([]byte(`{"amount":"1","currency":"USDT","network":"ERC20","metadata":{"a":"1","A":"2"}}`), "", Policy{})
	if err != nil || p.Metadata["a"] != "1" || p.Metadata["A"] != "2" {
		t.Errorf("%+v %v", p, err)
	}
}

func TestParamsHash(t *testing.T) {
	a, _ := ParseCreate([]byte(`{"amount":"99.9","currency":"USDT","network":"ERC20","metadata":{"a":"1","b":"2"}}`), "", Policy{})
	b, _ := ParseCreate([]byte(`{"metadata":{"b":"2","a":"1"},"network":"ERC20","currency":"USDT","amount":"99.90"}`), "", Policy{})
	c, _ := ParseCreate([]byte(`{"amount":"99.9","currency":"USDT","network":"ERC20","metadata":{"a":"1","b":"3"}}`), "", Policy{})
	if a.Hash() != b.Hash() || a.Hash() == c.Hash() {
		t.Errorf("hashes: %s %s %s", a.Hash(), b.Hash(), c.Hash())
	}
}

func manyKeys(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"k` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":"v"`
	}
	return strings.Join(parts, ",")
}

func FuzzParseCreate(f *testing.F) {
	f.Add([]byte(`{"amount":"99.99","currency":"USDT","network":"TRC20","metadata":{"a":"b"},"tolerance_percent":0.01}`), "")
	f.Add([]byte(`{"amount":99.99}`), "k")
	f.Add([]byte(`{`), "")
	f.Add([]byte(`{"amount":"1","amount":"2","metadata":{"a":"b","a":"c"},"x":[{"y":1,"y":2}]}`), "")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		p, err := ParseCreate(body, header, Policy{Dev: true})
		if err != nil {
			var e *checkout.Error
			if !errors.As(err, &e) || (e.HTTPStatus != 400 && e.HTTPStatus != 413) || e.Code == "" {
				t.Fatalf("error %v is not a 400/413 API error", err)
			}
			return
		}
		if p.Amount <= 0 || p.Amount > checkout.MaxAmount || p.Tolerance < 0 || p.Tolerance > DefaultMaxTolerance {
			t.Fatalf("accepted out-of-range params %+v", p)
		}
	})
}
