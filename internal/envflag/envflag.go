// Package envflag gives command-line flags their defaults from MP_* environment variables:
// every flag of the edge and watcher commands can be set either way, and a flag given on the
// command line wins.
//
// A value that does not parse is an error, not a silent default: an operator who sets
// MP_RATE_LIMIT=1OO must learn at start-up that the edge did not take it. Env collects those
// errors while the flags are registered; the command checks Err before it does anything.
package envflag

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// String returns the variable's value, or def when it is unset or empty. (Any string parses,
// so it needs no Env.)
func String(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Env reads typed defaults from the environment and remembers every variable it could not
// parse. The zero value is ready to use.
type Env struct {
	errs []error
}

// String is the package's String (on Env so every flag of a command reads alike).
func (e *Env) String(name, def string) string { return String(name, def) }

// Bool returns the variable parsed by strconv.ParseBool, or def when it is unset or empty;
// any other value is recorded as an error (see Err) and def is returned.
func (e *Env) Bool(name string, def bool) bool {
	v, ok := lookup(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, v, "true or false")
		return def
	}
	return b
}

// Int returns the variable as a decimal integer, or def when it is unset or empty; any other
// value is recorded as an error (see Err) and def is returned.
func (e *Env) Int(name string, def int) int {
	v, ok := lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(name, v, "an integer")
		return def
	}
	return n
}

// Duration returns the variable parsed by time.ParseDuration ("30s", "5m"), or def when it is
// unset or empty; any other value (a bare "5" included: it has no unit) is recorded as an
// error (see Err) and def is returned.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := lookup(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(name, v, "a duration with a unit, such as 30s or 5m")
		return def
	}
	return d
}

// Err returns the variables that did not parse, each named, joined; nil when all did.
func (e *Env) Err() error {
	return errors.Join(e.errs...)
}

func (e *Env) fail(name, v, want string) {
	e.errs = append(e.errs, fmt.Errorf("environment %s=%q: want %s", name, v, want))
}

func lookup(name string) (string, bool) {
	v := os.Getenv(name)
	return v, v != ""
}
