package widget

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"rsc.io/qr/coding"
)

// qrSVG encodes text as a QR code (error correction level M) and draws it as a compact SVG:
// one path of horizontal runs, dark on a white quiet zone of 4 modules, so it scans in dark
// mode too. It is built by hand from the code's bitmap because the first paint needs it inline
// (no image request), and an SVG path costs a few KB where an image encoder would cost the
// wasm hundreds.
func qrSVG(text, label string) (string, error) {
	code, err := encodeQR(text)
	if err != nil {
		return "", err
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var d strings.Builder
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; {
			if !code.Black(x, y) {
				x++
				continue
			}
			start := x
			for x < code.Size && code.Black(x, y) {
				x++
			}
			d.WriteString("M")
			d.WriteString(strconv.Itoa(start + quiet))
			d.WriteString(" ")
			d.WriteString(strconv.Itoa(y + quiet))
			d.WriteString("h")
			d.WriteString(strconv.Itoa(x - start))
			d.WriteString("v1h-")
			d.WriteString(strconv.Itoa(x - start))
			d.WriteString("z")
		}
	}
	return `<svg xmlns="http://www.w3.org/2000/svg" class="qr-svg" viewBox="0 0 ` + strconv.Itoa(n) + " " + strconv.Itoa(n) +
		`" role="img" aria-label="` + html.EscapeString(label) + `" shape-rendering="crispEdges">` +
		`<rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="` + d.String() + `"/></svg>`, nil
}

// encodeQR is rsc.io/qr's Encode without the package's image support (image and image/color
// cost the wasm ~10 KB compressed): the smallest version that holds text at level M, mask 0
// (every mask is valid; scanners read them all).
func encodeQR(text string) (*coding.Code, error) {
	var enc coding.Encoding = coding.String(text)
	switch {
	case coding.Num(text).Check() == nil:
		enc = coding.Num(text)
	case coding.Alpha(text).Check() == nil:
		enc = coding.Alpha(text)
	}
	for v := coding.Version(coding.MinVersion); v <= coding.MaxVersion; v++ {
		if enc.Bits(v) > v.DataBytes(coding.M)*8 {
			continue
		}
		p, err := coding.NewPlan(v, coding.M, 0)
		if err != nil {
			return nil, fmt.Errorf("qr plan: %w", err)
		}
		c, err := p.Encode(enc)
		if err != nil {
			return nil, fmt.Errorf("qr encode: %w", err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("qr encode: %d bytes do not fit a QR code", len(text))
}
