// Package promtext reads Prometheus text expositions in tests: each sample line becomes
// "name{labels}" (exactly as exposed) → value, so a test can look up a sample by the text an
// operator would grep for.
package promtext

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Samples reads every sample of an exposition; comments (# HELP, # TYPE) are skipped.
func Samples(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("bad sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
