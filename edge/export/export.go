// Package export streams a merchant's orders, with their payments, for accounting and
// archives: NDJSON (each line the order object exactly as GET /v1/orders/{id} answers it) or
// CSV (one row per order). It pages through the merchant's order index oldest first, so memory
// stays flat however many orders there are, and it is resumable: every line or row carries its
// order id, which is the cursor; Query.After resumes exactly after it.
//
// `edge export` is the command over it (see docs/operating.md).
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/store"
)

// Format is an export's output format.
type Format string

// The formats.
const (
	NDJSON Format = "ndjson" // one order object per line, as the API renders it
	CSV    Format = "csv"    // a header, then one row per order (Columns)
)

// DefaultPageSize is how many orders one index read and one write hold.
const DefaultPageSize = 500

// Query selects what an export writes.
type Query struct {
	MerchantID string // required; an unknown merchant is an *InvalidError
	// Since and Until bound created_at: Since ≤ created_at < Until. Since is required; a zero
	// Until is open (every order up to the end of the index when the export reaches it).
	Since, Until time.Time
	Statuses     []checkout.Status  // only these statuses (as of when each page is read); none: all
	Networks     []checkout.Network // only these networks; none: all
	// MinAmount and MaxAmount bound amount, both inclusive; zero: open.
	MinAmount, MaxAmount checkout.Amount
	// After resumes an export: only orders after this one (an order id of the merchant, the
	// cursor an earlier export reported; an unknown one is an *InvalidError).
	After    string
	Format   Format // default NDJSON
	PageSize int    // orders per index read and per write; default DefaultPageSize
}

// InvalidError is a query the export refuses before writing anything; Param names the field
// (merchant, since, until, status, network, after, format).
type InvalidError struct {
	Param, Message string
}

func (e *InvalidError) Error() string { return e.Param + ": " + e.Message }

func invalid(param, format string, a ...any) error {
	return &InvalidError{Param: param, Message: fmt.Sprintf(format, a...)}
}

// Result is what an export wrote, also when it stopped early.
type Result struct {
	Orders int // orders written in full
	// Cursor is the id of the last order written in full (Query.After when none was): the
	// After of the export that continues this one. Empty when nothing was written and the
	// query had no After: then the continuation is the same query again.
	Cursor string
	// Bytes is how much of the output holds whole lines (rows, the CSV header): everything
	// up to Cursor's line.
	Bytes int64
	// Torn reports that a failed write left part of a line (or row) after those Bytes; a
	// continuation into the same file must cut the file back to Bytes first (a CSV row may
	// hold newlines inside quotes, so "the last newline" is not always the place).
	Torn bool
}

// Validate checks the query without Redis.
func (q *Query) Validate() error {
	if q.MerchantID == "" {
		return invalid("merchant", "required")
	}
	if q.Since.IsZero() {
		return invalid("since", "required")
	}
	if !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return invalid("until", "%s is not after since %s", q.Until.UTC().Format(time.RFC3339Nano), q.Since.UTC().Format(time.RFC3339Nano))
	}
	for _, s := range q.Statuses {
		if !s.Valid() {
			return invalid("status", "unknown status %q", s)
		}
	}
	for _, n := range q.Networks {
		if _, err := checkout.ParseNetwork(string(n)); err != nil {
			return invalid("network", "%v", err)
		}
	}
	switch q.Format {
	case "", NDJSON, CSV:
	default:
		return invalid("format", "want ndjson or csv, not %q", q.Format)
	}
	if q.PageSize < 0 {
		return invalid("page size", "must not be negative")
	}
	return nil
}

// Source is what an export reads: edge/store.Store.
type Source interface {
	Merchant(ctx context.Context, id string) (*checkout.Merchant, error)
	ListOrders(ctx context.Context, merchantID string, q store.ListQuery) (*store.ListPage, error)
}

// Run writes the query's orders to w, oldest first (ties by id), one page per Write. Nothing
// is written before the merchant and the cursor are known to exist: an *InvalidError means w
// was not touched. On any other error, Result says how far the export got; the error wraps
// ctx.Err() when the context ended it.
//
// An order that changes status while the export runs appears once, as it was when its page
// was read; with a status filter it may then be left out (it was not in that status).
func Run(ctx context.Context, st Source, q Query, w io.Writer) (Result, error) {
	res := Result{Cursor: q.After}
	if err := q.Validate(); err != nil {
		return res, err
	}
	if _, err := st.Merchant(ctx, q.MerchantID); errors.Is(err, store.ErrNotFound) {
		return res, invalid("merchant", "no merchant %s", q.MerchantID)
	} else if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	lq := store.ListQuery{
		Statuses: q.Statuses, Networks: q.Networks, After: q.After, Oldest: true,
		MinAmount: q.MinAmount, MaxAmount: q.MaxAmount,
		// The index is second-precise; the exact bounds are applied below.
		CreatedFrom: q.Since.Truncate(time.Second), Limit: q.PageSize,
	}
	if lq.Limit == 0 {
		lq.Limit = DefaultPageSize
	}
	if !q.Until.IsZero() {
		lq.CreatedTo = q.Until.Truncate(time.Second) // inclusive there; the exact (exclusive) bound below
	}
	enc := newEncoder(q.Format)
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("export: %w", err)
		}
		page, err := st.ListOrders(ctx, q.MerchantID, lq)
		if first && errors.Is(err, store.ErrNotFound) {
			return res, invalid("after", "%s is no order of merchant %s", q.After, q.MerchantID)
		}
		if err != nil {
			return res, fmt.Errorf("export: %w", err)
		}
		var buf pageBuffer
		enc.page(&buf)
		if first {
			if err := enc.header(&buf); err != nil {
				return res, err
			}
			first = false
		}
		for _, r := range page.Records {
			o := &r.Order
			if o.CreatedAt.Before(q.Since) || !q.Until.IsZero() && !o.CreatedAt.Before(q.Until) {
				continue
			}
			if err := enc.order(&buf, o); err != nil {
				return res, fmt.Errorf("export: %w", err)
			}
		}
		if err := buf.writeTo(w, &res); err != nil {
			return res, fmt.Errorf("export: write: %w", err)
		}
		if !page.More {
			return res, nil
		}
		lq.After = page.Next
	}
}

// pageBuffer holds one page of output and where each record in it ends, so a short write
// tells exactly which orders went out.
type pageBuffer struct {
	bytes.Buffer
	ends []int    // offset just past each record
	ids  []string // its order id; "" for the CSV header
}

func (b *pageBuffer) mark(id string) {
	b.ends = append(b.ends, b.Len())
	b.ids = append(b.ids, id)
}

// writeTo writes the page in one Write and advances res past every record w took in full.
func (b *pageBuffer) writeTo(w io.Writer, res *Result) error {
	if b.Len() == 0 {
		return nil
	}
	n, err := w.Write(b.Bytes())
	if err == nil && n < b.Len() {
		err = io.ErrShortWrite
	}
	start := 0
	for i, end := range b.ends {
		if end > n {
			res.Torn = n > start
			break
		}
		res.Bytes += int64(end - start)
		start = end
		if b.ids[i] != "" {
			res.Orders++
			res.Cursor = b.ids[i]
		}
	}
	return err
}

// encoder renders orders in one format.
type encoder interface {
	page(b *pageBuffer) // a new page begins
	header(b *pageBuffer) error
	order(b *pageBuffer, o *checkout.Order) error
}

func newEncoder(f Format) encoder {
	if f == CSV {
		return newCSVEncoder()
	}
	return ndjsonEncoder{}
}

type ndjsonEncoder struct{}

func (ndjsonEncoder) page(*pageBuffer)         {}
func (ndjsonEncoder) header(*pageBuffer) error { return nil }

func (ndjsonEncoder) order(b *pageBuffer, o *checkout.Order) error {
	line, err := api.MarshalOrder(o)
	if err != nil {
		return fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	b.Write(line)
	b.WriteByte('\n')
	b.mark(o.ID)
	return nil
}
