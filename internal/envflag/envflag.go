// Package envflag gives command-line flags their defaults from MP_* environment variables:
// every flag of the edge and watcher commands can be set either way, and a flag given on the
// command line wins.
package envflag

import (
	"os"
	"strconv"
	"time"
)

// String returns the variable's value, or def when it is unset or empty.
func String(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Bool returns the variable parsed by strconv.ParseBool, or def when unset or unparsable.
func Bool(name string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// Int returns the variable as an integer, or def when unset or unparsable.
func Int(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// Duration returns the variable parsed by time.ParseDuration ("30s"), or def.
func Duration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
