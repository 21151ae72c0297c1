// Package listquery parses the query of an order listing: the filters, cursors and page size
// of GET /v1/orders, which the dashboard's order list and its CSV download take too. One set
// of rules, so a filter the API refuses the dashboard refuses, with the same parameter named.
package listquery

import (
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Parameter names, as GET /v1/orders takes them.
const (
	Limit         = "limit"
	StartingAfter = "starting_after"
	EndingBefore  = "ending_before"
	Status        = "status"
	Network       = "network"
	CreatedGTE    = "created[gte]"
	CreatedLTE    = "created[lte]"
	AmountGTE     = "amount[gte]"
	AmountLTE     = "amount[lte]"
)

// MaxLimit is the largest page.
const MaxLimit = 100

// Options say how a caller's query differs from the API's; the zero value is the API's.
type Options struct {
	// DefaultLimit is the page size when limit is absent; default 10.
	DefaultLimit int
	// Dates: created[gte] and created[lte] are UTC dates (YYYY-MM-DD, as an HTML date input
	// sends them), created[lte] covering its whole day, instead of Unix seconds.
	Dates bool
	// SkipEmpty: a parameter given empty counts as absent (an HTML form sends every field).
	SkipEmpty bool
	// Extra names other parameters the caller reads itself: left alone, not refused.
	Extra []string
}

// Parse reads args into a store.ListQuery. A bad parameter is a *checkout.Error (400) whose
// Param names it: invalid_type for a bad value, invalid_network, invalid_amount,
// duplicate_parameter for one given twice, unknown_parameter for one it does not know; a
// range whose lower bound is above its upper bound names the upper bound.
func Parse(args *fasthttp.Args, o Options) (store.ListQuery, error) {
	q := store.ListQuery{Limit: o.DefaultLimit}
	if q.Limit <= 0 {
		q.Limit = 10
	}
	var err error
	seen := map[string]bool{}
	args.VisitAll(func(k, v []byte) {
		if err != nil {
			return
		}
		key, val := string(k), string(v)
		if slices.Contains(o.Extra, key) || o.SkipEmpty && val == "" {
			return
		}
		if seen[key] {
			err = checkout.Invalid(checkout.CodeDuplicateParameter, key, "%s is given more than once", key)
			return
		}
		seen[key] = true
		err = set(&q, key, val, o)
	})
	if err != nil {
		return q, err
	}
	switch {
	case q.After != "" && q.Before != "":
		return q, checkout.Invalid(checkout.CodeInvalidType, EndingBefore, "starting_after and ending_before cannot be used together")
	case !q.CreatedFrom.IsZero() && !q.CreatedTo.IsZero() && q.CreatedFrom.After(q.CreatedTo):
		return q, checkout.Invalid(checkout.CodeInvalidType, CreatedLTE, "created[lte] is before created[gte]")
	case q.MinAmount > 0 && q.MaxAmount > 0 && q.MinAmount > q.MaxAmount:
		return q, checkout.Invalid(checkout.CodeInvalidAmount, AmountLTE, "amount[lte] is below amount[gte]")
	}
	return q, nil
}

func set(q *store.ListQuery, key, val string, o Options) error {
	bad := func(format string, a ...any) error {
		return checkout.Invalid(checkout.CodeInvalidType, key, format, a...)
	}
	switch key {
	case Limit:
		n, e := strconv.Atoi(val)
		if e != nil || n < 1 || n > MaxLimit {
			return bad("limit must be an integer from 1 to %d", MaxLimit)
		}
		q.Limit = n
	case StartingAfter, EndingBefore:
		if len(val) != 30 {
			return bad("%s must be an order id", key)
		}
		if key == StartingAfter {
			q.After = val
		} else {
			q.Before = val
		}
	case Status:
		st := checkout.Status(val)
		if !st.Valid() {
			return bad("status must be one of PENDING, CONFIRMING, PAID, UNDERPAID, EXPIRED, FROZEN, CANCELED")
		}
		q.Statuses = []checkout.Status{st}
	case Network:
		n, e := checkout.ParseNetwork(val)
		if e != nil {
			return checkout.Invalid(checkout.CodeInvalidNetwork, key, "%v", e)
		}
		q.Networks = []checkout.Network{n}
	case CreatedGTE, CreatedLTE:
		t, err := created(key, val, o.Dates)
		if err != nil {
			return err
		}
		if key == CreatedGTE {
			q.CreatedFrom = t
		} else {
			q.CreatedTo = t
		}
	case AmountGTE, AmountLTE:
		a, e := checkout.ParseAmount(val)
		if e != nil {
			return checkout.Invalid(checkout.CodeInvalidAmount, key, "%s: %v", key, e)
		}
		if key == AmountGTE {
			q.MinAmount = a
		} else {
			q.MaxAmount = a
		}
	default:
		return checkout.Invalid(checkout.CodeUnknownParameter, key, "unknown query parameter %s", key)
	}
	return nil
}

// created parses a created-at bound: Unix seconds, or with dates a UTC day (the upper bound
// is that day's last second: the index is second-precise and the bound inclusive).
func created(key, val string, dates bool) (time.Time, error) {
	if dates {
		d, err := time.Parse(time.DateOnly, val)
		if err != nil || d.Year() < 1970 || d.Year() > 2105 {
			return time.Time{}, checkout.Invalid(checkout.CodeInvalidType, key, "%s must be a date, YYYY-MM-DD", key)
		}
		if key == CreatedLTE {
			d = d.Add(24*time.Hour - time.Second)
		}
		return d, nil
	}
	sec, e := strconv.ParseInt(val, 10, 64)
	if e != nil || sec < 0 || sec > 1<<32 {
		return time.Time{}, checkout.Invalid(checkout.CodeInvalidType, key, "%s must be a Unix time in seconds", key)
	}
	return time.Unix(sec, 0).UTC(), nil
}
