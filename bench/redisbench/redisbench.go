// Package redisbench runs redis-benchmark, the same-run baseline the benchmark programs
// compare the edge with (one SET per round trip, at the edge's concurrency).
package redisbench

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
)

var setRate = regexp.MustCompile(`SET: ([0-9.]+) requests per second`)

// SetRate runs `redis-benchmark -t set` with conc clients and n requests against the Redis
// at addr (host:port) and returns its SETs per second.
func SetRate(addr string, conc, n int) (float64, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: address %q: %w", addr, err)
	}
	out, err := exec.Command("redis-benchmark", "-h", host, "-p", port, "-c", strconv.Itoa(conc),
		"-n", strconv.Itoa(n), "-t", "set", "-q").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %w: %s", err, out)
	}
	m := setRate.FindSubmatch(bytes.TrimSpace(out))
	if m == nil {
		return 0, fmt.Errorf("redis-benchmark output not understood: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
