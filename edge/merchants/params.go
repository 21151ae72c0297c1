package merchants

import (
	"strings"
	"time"
)

// ParseDuration reads a duration setting (order_ttl, late_window) as the command line's
// flags do (time.ParseDuration: 30m, 24h, 1h30m), for forms that send it as text. A
// malformed one is an *InvalidError naming param; its range is checked where it is set.
func ParseDuration(param, s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, invalid(param, "must be a duration such as 30m or 24h")
	}
	if d == 0 {
		return 0, invalid(param, "must not be zero")
	}
	return d, nil
}
