package listquery_test

import (
	"errors"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/listquery"
	"github.com/mpchat/checkout/edge/store"
)

func TestParse(t *testing.T) {
	form := listquery.Options{Dates: true, SkipEmpty: true, Extra: []string{"merchant"}, DefaultLimit: 25}
	for _, c := range []struct {
		name, query string
		o           listquery.Options
		param       string // the refused parameter; "" = accepted
		check       func(t *testing.T, q store.ListQuery)
	}{
		{name: "api defaults", query: "", check: func(t *testing.T, q store.ListQuery) {
			if q.Limit != 10 || len(q.Statuses) != 0 {
				t.Errorf("%+v", q)
			}
		}},
		{name: "api seconds", query: "created[gte]=100&created[lte]=200&amount[gte]=1.5&status=PAID&network=TRC20", check: func(t *testing.T, q store.ListQuery) {
			if q.CreatedFrom.Unix() != 100 || q.CreatedTo.Unix() != 200 || q.MinAmount != 1_500_000 || q.Statuses[0] != checkout.StatusPaid || q.Networks[0] != checkout.TRC20 {
				t.Errorf("%+v", q)
			}
		}},
		{name: "api refuses a date", query: "created[gte]=2026-01-02", param: "created[gte]"},
		{name: "api refuses empty", query: "status=", param: "status"},
		{name: "api refuses extra", query: "merchant=mer_x", param: "merchant"},
		{name: "form dates", query: "created[gte]=2026-01-02&created[lte]=2026-01-02&status=&merchant=x", o: form, check: func(t *testing.T, q store.ListQuery) {
			from := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
			if !q.CreatedFrom.Equal(from) || !q.CreatedTo.Equal(from.Add(24*time.Hour-time.Second)) || q.Limit != 25 || len(q.Statuses) != 0 {
				t.Errorf("%+v", q)
			}
		}},
		{name: "form bad date", query: "created[lte]=02/01/2026", o: form, param: "created[lte]"},
		{name: "dates reversed", query: "created[gte]=2026-01-03&created[lte]=2026-01-02", o: form, param: "created[lte]"},
		{name: "amounts reversed", query: "amount[gte]=5&amount[lte]=4.99", param: "amount[lte]"},
		{name: "amount bad", query: "amount[gte]=1.1234567", param: "amount[gte]"},
		{name: "both cursors", query: "starting_after=ord_01234567890123456789012345&ending_before=ord_01234567890123456789012345", param: "ending_before"},
		{name: "twice", query: "status=PAID&status=PAID", param: "status"},
		{name: "limit", query: "limit=101", param: "limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := fasthttp.AcquireArgs()
			defer fasthttp.ReleaseArgs(args)
			args.Parse(c.query)
			q, err := listquery.Parse(args, c.o)
			var e *checkout.Error
			switch {
			case c.param == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.param != "" && (!errors.As(err, &e) || e.Param != c.param):
				t.Fatalf("want %s refused, got %v", c.param, err)
			case c.check != nil:
				c.check(t, q)
			}
		})
	}
}
