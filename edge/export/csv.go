package export

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// Columns is the CSV header: one row per order, the fields named as in the order object.
// Amounts are the API's decimal strings, times RFC 3339 in UTC as the API writes them (paid_at
// empty while unpaid), tx_hashes the distinct transaction hashes of the confirmed payments
// (the ones amount_paid counts) joined by ";", payments the order's payments array as JSON
// (every payment, with its status), metadata the metadata object as JSON. docs/operating.md
// documents the same list.
var Columns = []string{
	"id", "created_at", "expires_at", "paid_at", "status", "network", "currency",
	"amount", "pay_amount", "amount_paid", "amount_pending", "amount_overpaid", "amount_late",
	"address", "description", "frozen_reason", "tx_hashes", "payments", "metadata",
}

type csvEncoder struct {
	w   *csv.Writer // into the page being filled
	row []string
}

func newCSVEncoder() *csvEncoder { return &csvEncoder{row: make([]string, 0, len(Columns))} }

func (e *csvEncoder) page(b *pageBuffer) { e.w = csv.NewWriter(b) }

func (e *csvEncoder) header(b *pageBuffer) error {
	w := e.w
	if err := w.Write(Columns); err != nil {
		return fmt.Errorf("encode csv header: %w", err)
	}
	w.Flush()
	b.mark("")
	return w.Error()
}

func (e *csvEncoder) order(b *pageBuffer, o *checkout.Order) error {
	payments := o.Payments
	if payments == nil {
		payments = []checkout.Payment{} // as the API shows it
	}
	pj, err := json.Marshal(payments)
	if err != nil {
		return fmt.Errorf("encode payments of %s: %w", o.ID, err)
	}
	metadata := o.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	mj, err := json.Marshal(metadata)
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", o.ID, err)
	}
	var hashes []string
	for _, p := range o.Payments {
		if p.Status == checkout.PaymentConfirmed && !slices.Contains(hashes, p.TxHash) {
			hashes = append(hashes, p.TxHash)
		}
	}
	paidAt := ""
	if o.PaidAt != nil {
		paidAt = timeText(*o.PaidAt)
	}
	e.row = append(e.row[:0], o.ID, timeText(o.CreatedAt), timeText(o.ExpiresAt), paidAt, string(o.Status),
		string(o.Network), o.Currency, o.Amount.String(), o.PayAmount.String(), o.AmountPaid.String(),
		o.AmountPending.String(), o.AmountOverpaid.String(), o.AmountLate.String(), o.Address, o.Description,
		o.FrozenReason, strings.Join(hashes, ";"), string(pj), string(mj))
	w := e.w
	if err := w.Write(e.row); err != nil {
		return fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	b.mark(o.ID)
	return nil
}

// timeText is a time as the API's JSON writes it (time.Time's MarshalJSON: RFC 3339 with the
// fraction only when there is one), in UTC.
func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
