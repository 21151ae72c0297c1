package widget

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	"rsc.io/qr"
)

// qrSVG encodes text as a QR code (error correction level M) and draws it as a compact SVG:
// one path of horizontal runs, dark on a white quiet zone of 4 modules, so it scans in dark
// mode too. It is built by hand from the code's bitmap because the first paint needs it inline
// (no image request), and an SVG path costs a few KB where an image encoder would cost the
// wasm hundreds.
func qrSVG(text, label string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("qr encode: %w", err)
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
