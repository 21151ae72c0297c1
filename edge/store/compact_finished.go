package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The finished form of an order document (version 3), written by retention's trim (TrimOrder)
// and read like any other: a trimmed order is read for years and written again only by late
// funds (whose commit writes version 2 again), so it is kept in fewer bytes at the cost of a
// slower read. It is the version 2 document (compact.go) with these rewrites, each exactly
// reversible (expandFinished undoes them, then the version 2 decoder reads the result):
//
//   - times: ca (created_at) as is; ea, pd and each payment's fs and ra, each previous
//     deposit's at, as nanoseconds after ca. Every time is written as a JSON number with its
//     trailing zeros as an exponent when there are three or more (1796236123000000000 is
//     1796236123e9, 1800000000000 is 18e11).
//   - a payment's tx hash "h" that is 0x and 64 lowercase hex digits: "hb", its 32 bytes in
//     unpadded base64url (43 characters instead of 66).
//   - a payment's status "s": left out when it is "confirmed" (an empty status is written "").
//   - a payment's confirmations "cf": left out when equal to its required "rq" (when "rq" is
//     there; a zero is then written 0).
//   - the amount paid "ap": left out when equal to the amount "a" (a zero is then written 0).
//
// Nothing else changes; in particular payments keep their order, which the feed positions'
// references (feed.go) and the last event's payment index rely on.

// finishedPrefix starts a finished-form document. Its version is a JSON string, not a
// number, so an edge of an earlier version fails to read it (an error) rather than misread
// its relative times as absolute ones.
var finishedPrefix = []byte(`{"v":"3",`)

// The document's times written relative to ca: at the top level, in payments and in previous
// deposits.
var (
	docTimes      = []string{"ea", "pd"}
	paymentTimes  = []string{"fs", "ra"}
	previousTimes = []string{"at"}
)

// finishDoc rewrites a version 2 document into the finished form; ok is false when doc is
// not a version 2 document (then it stays as it is).
func finishDoc(doc []byte) (out []byte, ok bool) {
	if !bytes.HasPrefix(doc, []byte(`{"v":2,`)) {
		return nil, false
	}
	var d map[string]any
	if err := unmarshalNumbers(doc, &d); err != nil {
		return nil, false
	}
	base, err := numField(d, "ca")
	if err != nil {
		return nil, false
	}
	for _, k := range docTimes {
		if err := relTime(d, k, base, false); err != nil {
			return nil, false
		}
	}
	if err := shortNum(d, "ca"); err != nil {
		return nil, false
	}
	if numOr0(d, "ap") == numOr0(d, "a") {
		delete(d, "ap")
	} else if _, has := d["ap"]; !has {
		d["ap"] = json.Number("0")
	}
	for _, p := range objects(d, "p") {
		for _, k := range paymentTimes {
			if err := relTime(p, k, base, false); err != nil {
				return nil, false
			}
		}
		if h, _ := p["h"].(string); isHash(h) {
			b, _ := hex.DecodeString(h[2:])
			delete(p, "h")
			p["hb"] = base64.RawURLEncoding.EncodeToString(b)
		}
		switch s, has := p["s"]; {
		case !has:
			p["s"] = ""
		case s == "confirmed":
			delete(p, "s")
		}
		if _, has := p["rq"]; has {
			if numOr0(p, "cf") == numOr0(p, "rq") {
				delete(p, "cf")
			} else if _, has := p["cf"]; !has {
				p["cf"] = json.Number("0")
			}
		}
	}
	for _, p := range objects(d, "pv") {
		for _, k := range previousTimes {
			if err := relTime(p, k, base, false); err != nil {
				return nil, false
			}
		}
	}
	delete(d, "v")
	rest, err := json.Marshal(d)
	if err != nil || len(rest) < 2 {
		return nil, false
	}
	if len(rest) == 2 { // {}: nothing but the version
		return []byte(`{"v":"3"}`), true
	}
	return append(append([]byte{}, finishedPrefix...), rest[1:]...), true
}

// expandFinished turns a finished-form document back into the version 2 document it was made
// from (the same order, field for field).
func expandFinished(doc []byte) ([]byte, error) {
	var d map[string]any
	if err := unmarshalNumbers(doc, &d); err != nil {
		return nil, err
	}
	if err := longNum(d, "ca"); err != nil {
		return nil, err
	}
	base, err := numField(d, "ca")
	if err != nil {
		return nil, err
	}
	for _, k := range docTimes {
		if err := relTime(d, k, base, true); err != nil {
			return nil, err
		}
	}
	if _, has := d["ap"]; !has {
		if a, has := d["a"]; has {
			d["ap"] = a
		}
	} else if numOr0(d, "ap") == "0" {
		delete(d, "ap")
	}
	for _, p := range objects(d, "p") {
		for _, k := range paymentTimes {
			if err := relTime(p, k, base, true); err != nil {
				return nil, err
			}
		}
		if hb, ok := p["hb"].(string); ok {
			b, err := base64.RawURLEncoding.DecodeString(hb)
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("payment hash %q", hb)
			}
			delete(p, "hb")
			p["h"] = "0x" + hex.EncodeToString(b)
		}
		switch s, has := p["s"]; {
		case !has:
			p["s"] = "confirmed"
		case s == "":
			delete(p, "s")
		}
		if rq, has := p["rq"]; has {
			if _, has := p["cf"]; !has {
				p["cf"] = rq
			} else if numOr0(p, "cf") == "0" {
				delete(p, "cf")
			}
		}
	}
	for _, p := range objects(d, "pv") {
		for _, k := range previousTimes {
			if err := relTime(p, k, base, true); err != nil {
				return nil, err
			}
		}
	}
	d["v"] = json.Number(strconv.Itoa(docVersion))
	return json.Marshal(d)
}

func unmarshalNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func isHash(h string) bool {
	if len(h) != 66 || !strings.HasPrefix(h, "0x") {
		return false
	}
	for _, c := range h[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// objects is the JSON objects of the array d[k].
func objects(d map[string]any, k string) []map[string]any {
	arr, _ := d[k].([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// numOr0 is the number d[k] as written, "0" when absent.
func numOr0(d map[string]any, k string) string {
	if n, ok := d[k].(json.Number); ok {
		return n.String()
	}
	return "0"
}

// numField is the integer d[k] (0 when absent).
func numField(d map[string]any, k string) (int64, error) {
	v, has := d[k]
	if !has {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("field %s: %v is not a number", k, v)
	}
	return strconv.ParseInt(n.String(), 10, 64)
}

// relTime rewrites the time d[k] (if there) as nanoseconds after base in short form, or back
// (expand) to an absolute time in plain digits.
func relTime(d map[string]any, k string, base int64, expand bool) error {
	if _, has := d[k]; !has {
		return nil
	}
	if expand {
		if err := longNum(d, k); err != nil {
			return err
		}
	}
	t, err := numField(d, k)
	if err != nil {
		return err
	}
	if expand {
		d[k] = json.Number(strconv.FormatInt(t+base, 10))
		return nil
	}
	d[k] = json.Number(strconv.FormatInt(t-base, 10))
	return shortNum(d, k)
}

// shortNum writes the integer d[k] with its trailing zeros as an exponent (three or more).
func shortNum(d map[string]any, k string) error {
	n, ok := d[k].(json.Number)
	if !ok {
		return nil
	}
	s := n.String()
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return fmt.Errorf("field %s: %w", k, err)
	}
	z := len(s) - len(strings.TrimRight(s, "0"))
	if z >= 3 && z < len(s) {
		d[k] = json.Number(s[:len(s)-z] + "e" + strconv.Itoa(z))
	}
	return nil
}

// longNum undoes shortNum: the integer d[k] in plain digits.
func longNum(d map[string]any, k string) error {
	n, ok := d[k].(json.Number)
	if !ok {
		return nil
	}
	s := n.String()
	m, e, found := strings.Cut(s, "e")
	if !found {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Errorf("field %s: %w", k, err)
		}
		return nil
	}
	z, err := strconv.Atoi(e)
	if err != nil || z < 3 || z > 18 {
		return fmt.Errorf("field %s: bad exponent in %s", k, s)
	}
	full := m + strings.Repeat("0", z)
	if _, err := strconv.ParseInt(full, 10, 64); err != nil {
		return fmt.Errorf("field %s: %w", k, err)
	}
	d[k] = json.Number(full)
	return nil
}
