package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// The stored form of orders and events. Redis is memory, so an order is kept as a compact
// JSON document (short keys, amounts in base units, times in Unix nanoseconds, empty values
// and derivable fields left out) and rebuilt into the full checkout.Order on read:
//
//   - id: the key names it; currency: always USDT; deep_link: mpchat://pay?order={id};
//     payment_url: kept as its base when it is {base}/pay/{id} (each only when it is what
//     the rule gives, else stored as is); pay_amount: left out when equal to amount.
//
// An event does not copy the order. It keeps its id, type, time, the order's changing fields
// as they stood right after it (status, amounts, paid_at, frozen_reason, dust counts and the
// payments: see orderState) and the payment it is about (an index into those payments when it
// equals one). The order as it stood at the event is the current document with those fields
// put back (eventOrder); the fields set at creation never change, so the rebuild gives the
// same order, and the same webhook body, every time. The one exception is an order that lets
// its customer switch network (switch.go): its network, address, pay_amount and derivation
// path change with a switch, so its events keep them too (Deposit).
//
// Documents written before this encoding (plain checkout.Order JSON, starting {"id":) are
// still read. Retention rewrites a finished order's document into a shorter form of the
// same (version 3, compact_finished.go) when it trims the order.

// docVersion marks a compact document.
const docVersion = 2

type storedOrder struct {
	V             int               `json:"v,omitzero"`
	Status        checkout.Status   `json:"s,omitzero"`
	Amount        int64             `json:"a,omitzero"`
	Currency      string            `json:"c,omitzero"` // only when not USDT
	Network       checkout.Network  `json:"n,omitzero"`
	Address       string            `json:"ad,omitzero"`
	PayAmount     *int64            `json:"pa,omitempty"` // only when not the amount
	Paid          int64             `json:"ap,omitzero"`
	Pending       int64             `json:"apn,omitzero"`
	Overpaid      int64             `json:"ao,omitzero"`
	Late          int64             `json:"al,omitzero"`
	Tolerance     int64             `json:"tp,omitzero"`
	Description   string            `json:"d,omitzero"`
	Metadata      map[string]string `json:"m,omitzero"`
	ReturnURL     string            `json:"ru,omitzero"`
	WebhookURL    string            `json:"wu,omitzero"`
	PayBase       *string           `json:"pb,omitempty"` // payment_url = PayBase + "/pay/" + id
	PaymentURL    string            `json:"pu,omitzero"`  // when it is not of that form
	DeepLink      string            `json:"dl,omitzero"`  // when it is not DeepLink(id)
	Derivation    string            `json:"dp,omitzero"`
	ReceiveMode   string            `json:"rm,omitzero"`
	Payments      []storedPayment   `json:"p,omitzero"`
	CreatedAt     int64             `json:"ca,omitzero"`
	ExpiresAt     int64             `json:"ea,omitzero"`
	PaidAt        *int64            `json:"pd,omitempty"`
	FrozenReason  string            `json:"fr,omitzero"`
	DustCount     int64             `json:"dc,omitzero"`
	DustAmount    int64             `json:"da,omitzero"`
	DustRecent    []storedDust      `json:"dr,omitzero"`
	EmptyMetadata bool              `json:"me,omitzero"` // metadata is {} rather than null
	// Network switching (switch.go): the order's setting, and what a switch changes.
	AllowSwitch    bool               `json:"sw,omitzero"`
	SwitchNetworks []checkout.Network `json:"sn,omitzero"`
	Previous       []storedPrevious   `json:"pv,omitzero"`
	// Deposit is the order's deposit as it stood at an event, kept by the events of an order
	// that may switch network (in its document the fields above hold it).
	Deposit *storedDeposit `json:"dep,omitempty"`
}

type storedDeposit struct {
	Network    checkout.Network `json:"n"`
	Address    string           `json:"ad"`
	PayAmount  int64            `json:"pa"`
	Derivation string           `json:"dp,omitzero"`
}

type storedPrevious struct {
	storedDeposit
	ReplacedAt int64 `json:"at"`
}

type storedPayment struct {
	TxHash      string                 `json:"h"`
	LogIndex    uint                   `json:"li,omitzero"`
	From        string                 `json:"f"`
	Amount      int64                  `json:"a"`
	BlockNumber uint64                 `json:"b,omitzero"`
	Conf        uint64                 `json:"cf,omitzero"`
	Required    uint64                 `json:"rq,omitzero"`
	Status      checkout.PaymentStatus `json:"s,omitzero"`
	Late        bool                   `json:"l,omitzero"`
	FirstSeenAt int64                  `json:"fs,omitzero"`
	RevertedAt  *int64                 `json:"ra,omitempty"`
	Network     checkout.Network       `json:"n,omitzero"`  // to a previous address only
	Address     string                 `json:"ad,omitzero"` // to a previous address only
}

type storedDust struct {
	TxHash      string `json:"h"`
	LogIndex    uint   `json:"li,omitzero"`
	From        string `json:"f"`
	Amount      int64  `json:"a"`
	BlockNumber uint64 `json:"b,omitzero"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func nanosPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func timePtr(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := time.Unix(0, *n).UTC()
	return &t
}

func packPayment(p *checkout.Payment) storedPayment {
	return storedPayment{TxHash: p.TxHash, LogIndex: p.LogIndex, From: p.From, Amount: int64(p.Amount),
		BlockNumber: p.BlockNumber, Conf: p.Confirmations, Required: p.ConfirmationsRequired, Status: p.Status,
		Late: p.Late, FirstSeenAt: nanos(p.FirstSeenAt), RevertedAt: nanosPtr(p.RevertedAt),
		Network: p.Network, Address: p.Address}
}

func (p *storedPayment) unpack() checkout.Payment {
	return checkout.Payment{TxHash: p.TxHash, LogIndex: p.LogIndex, From: p.From, Amount: checkout.Amount(p.Amount),
		BlockNumber: p.BlockNumber, Confirmations: p.Conf, ConfirmationsRequired: p.Required, Status: p.Status,
		Late: p.Late, FirstSeenAt: fromNanos(p.FirstSeenAt), RevertedAt: timePtr(p.RevertedAt),
		Network: p.Network, Address: p.Address}
}

// packState fills the fields of an order that change after creation (see orderState).
func packState(s *storedOrder, o *checkout.Order) {
	s.Status = o.Status
	s.Paid, s.Pending, s.Overpaid, s.Late = int64(o.AmountPaid), int64(o.AmountPending), int64(o.AmountOverpaid), int64(o.AmountLate)
	s.PaidAt = nanosPtr(o.PaidAt)
	s.FrozenReason = o.FrozenReason
	s.DustCount, s.DustAmount = o.DustCount, int64(o.DustAmount)
	s.Payments = nil
	for i := range o.Payments {
		s.Payments = append(s.Payments, packPayment(&o.Payments[i]))
	}
	s.DustRecent = nil
	for _, d := range o.DustRecent {
		s.DustRecent = append(s.DustRecent, storedDust{TxHash: d.TxHash, LogIndex: d.LogIndex, From: d.From,
			Amount: int64(d.Amount), BlockNumber: d.BlockNumber})
	}
	s.Previous, s.Deposit = nil, nil
	for _, p := range o.PreviousAddresses {
		s.Previous = append(s.Previous, storedPrevious{storedDeposit: storedDeposit{Network: p.Network,
			Address: p.Address, PayAmount: int64(p.PayAmount), Derivation: p.DerivationPath}, ReplacedAt: nanos(p.ReplacedAt)})
	}
	if o.AllowNetworkSwitch {
		s.Deposit = &storedDeposit{Network: o.Network, Address: o.Address, PayAmount: int64(o.PayAmount),
			Derivation: o.DerivationPath}
	}
}

// unpackState puts the changing fields of s into o (every one of them: s is complete).
func unpackState(o *checkout.Order, s *storedOrder) {
	o.Status = s.Status
	o.AmountPaid, o.AmountPending = checkout.Amount(s.Paid), checkout.Amount(s.Pending)
	o.AmountOverpaid, o.AmountLate = checkout.Amount(s.Overpaid), checkout.Amount(s.Late)
	o.PaidAt = timePtr(s.PaidAt)
	o.FrozenReason = s.FrozenReason
	o.DustCount, o.DustAmount = s.DustCount, checkout.Amount(s.DustAmount)
	o.Payments = make([]checkout.Payment, 0, len(s.Payments))
	for i := range s.Payments {
		o.Payments = append(o.Payments, s.Payments[i].unpack())
	}
	o.DustRecent = nil
	for _, d := range s.DustRecent {
		o.DustRecent = append(o.DustRecent, checkout.DustTransfer{TxHash: d.TxHash, LogIndex: d.LogIndex,
			From: d.From, Amount: checkout.Amount(d.Amount), BlockNumber: d.BlockNumber})
	}
	o.PreviousAddresses = nil
	for _, p := range s.Previous {
		o.PreviousAddresses = append(o.PreviousAddresses, checkout.PreviousAddress{Network: p.Network,
			Address: p.Address, PayAmount: checkout.Amount(p.PayAmount), DerivationPath: p.Derivation,
			ReplacedAt: fromNanos(p.ReplacedAt)})
	}
	if d := s.Deposit; d != nil {
		o.Network, o.Address, o.PayAmount, o.DerivationPath = d.Network, d.Address, checkout.Amount(d.PayAmount), d.Derivation
		o.ReceiveMode = checkout.Deposit{DerivationPath: d.Derivation}.Mode()
	}
}

// orderState lists the checkout.Order fields an event keeps (they change after creation);
// every other field is fixed at creation. A test holds every field of checkout.Order to one
// list or the other, so a new field cannot be forgotten.
var orderState = []string{"Status", "AmountPaid", "AmountPending", "AmountOverpaid", "AmountLate",
	"PaidAt", "FrozenReason", "DustCount", "DustAmount", "DustRecent", "Payments", "PreviousAddresses"}

// encodeOrder is the compact document of o.
func encodeOrder(o *checkout.Order) ([]byte, error) {
	s := storedOrder{V: docVersion, Amount: int64(o.Amount), Network: o.Network, Address: o.Address,
		Tolerance: int64(o.TolerancePercent), Description: o.Description, Metadata: o.Metadata,
		ReturnURL: o.ReturnURL, WebhookURL: o.WebhookURL, Derivation: o.DerivationPath,
		ReceiveMode: string(o.ReceiveMode), CreatedAt: nanos(o.CreatedAt), ExpiresAt: nanos(o.ExpiresAt),
		AllowSwitch: o.AllowNetworkSwitch, SwitchNetworks: o.SwitchNetworks}
	if o.Metadata != nil && len(o.Metadata) == 0 {
		s.Metadata, s.EmptyMetadata = nil, true
	}
	if o.Currency != checkout.Currency {
		s.Currency = o.Currency
		if s.Currency == "" {
			s.Currency = "-" // an empty currency, kept apart from the default
		}
	}
	if o.PayAmount != o.Amount {
		pa := int64(o.PayAmount)
		s.PayAmount = &pa
	}
	if base, ok := strings.CutSuffix(o.PaymentURL, "/pay/"+o.ID); ok && o.ID != "" {
		s.PayBase = &base
	} else {
		s.PaymentURL = o.PaymentURL
	}
	if o.DeepLink != checkout.DeepLink(o.ID) {
		s.DeepLink = o.DeepLink
		if s.DeepLink == "" {
			s.DeepLink = "-"
		}
	}
	packState(&s, o)
	s.Deposit = nil // the document's own fields hold it
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	return b, nil
}

// decodeOrder rebuilds order id from its stored document (compact or the older full JSON).
func decodeOrder(id string, b []byte) (checkout.Order, error) {
	var o checkout.Order
	if !bytes.HasPrefix(b, []byte(`{"v":`)) {
		if err := json.Unmarshal(b, &o); err != nil {
			return o, fmt.Errorf("decode order %s: %w", id, err)
		}
		return o, nil
	}
	var s storedOrder
	if err := unmarshalDoc(b, &s); err != nil {
		return o, fmt.Errorf("decode order %s: %w", id, err)
	}
	o = checkout.Order{ID: id, Amount: checkout.Amount(s.Amount), Currency: checkout.Currency, Network: s.Network,
		Address: s.Address, PayAmount: checkout.Amount(s.Amount), TolerancePercent: checkout.Tolerance(s.Tolerance),
		Description: s.Description, Metadata: s.Metadata, ReturnURL: s.ReturnURL, WebhookURL: s.WebhookURL,
		PaymentURL: s.PaymentURL, DeepLink: checkout.DeepLink(id), DerivationPath: s.Derivation,
		ReceiveMode: checkout.ReceiveMode(s.ReceiveMode), CreatedAt: fromNanos(s.CreatedAt), ExpiresAt: fromNanos(s.ExpiresAt),
		AllowNetworkSwitch: s.AllowSwitch, SwitchNetworks: s.SwitchNetworks}
	if s.EmptyMetadata {
		o.Metadata = map[string]string{}
	}
	switch s.Currency {
	case "":
	case "-":
		o.Currency = ""
	default:
		o.Currency = s.Currency
	}
	if s.PayAmount != nil {
		o.PayAmount = checkout.Amount(*s.PayAmount)
	}
	if s.PayBase != nil {
		o.PaymentURL = *s.PayBase + "/pay/" + id
	}
	switch s.DeepLink {
	case "":
	case "-":
		o.DeepLink = ""
	default:
		o.DeepLink = s.DeepLink
	}
	unpackState(&o, &s)
	return o, nil
}

// unmarshalDoc reads a compact document of either version (version 3 is the finished form,
// compact_finished.go).
func unmarshalDoc(b []byte, s *storedOrder) error {
	if bytes.HasPrefix(b, finishedPrefix) || string(b) == `{"v":"3"}` {
		v2, err := expandFinished(b)
		if err != nil {
			return fmt.Errorf("finished form: %w", err)
		}
		b = v2
	}
	return json.Unmarshal(b, s)
}

// storedEvent is an event as an order keeps it.
type storedEvent struct {
	ID        string             `json:"i"`
	Type      checkout.EventType `json:"t"`
	CreatedAt int64              `json:"c"`
	State     storedOrder        `json:"s,omitzero"`
	PayIndex  *int               `json:"pi,omitempty"` // the payment: State.Payments[PayIndex]
	Payment   *storedPayment     `json:"p,omitempty"`  // the payment, when it is none of those
	// StateDoc: the state is the order document's (State left out). Retention writes the
	// last event of a trimmed order so when the two are the same (see compactLastEvent); a
	// later commit copies the document as it stood into StateFrom before changing it.
	StateDoc  bool            `json:"sd,omitzero"`
	StateFrom json.RawMessage `json:"sdoc,omitempty"`
	Previous  *storedPrevious `json:"pv,omitempty"` // the deposit left (order.network_changed)
}

// encodeEvent is the stored record of ev (its order's fixed fields left out).
func encodeEvent(ev *checkout.Event) ([]byte, error) {
	se := storedEvent{ID: ev.ID, Type: ev.Type, CreatedAt: nanos(ev.CreatedAt)}
	packState(&se.State, &ev.Order)
	if p := ev.Payment; p != nil {
		sp := packPayment(p)
		for i := range se.State.Payments {
			if samePayment(&se.State.Payments[i], &sp) {
				idx := i
				se.PayIndex = &idx
				break
			}
		}
		if se.PayIndex == nil {
			se.Payment = &sp
		}
	}
	if p := ev.Previous; p != nil {
		se.Previous = &storedPrevious{storedDeposit: storedDeposit{Network: p.Network, Address: p.Address,
			PayAmount: int64(p.PayAmount), Derivation: p.DerivationPath}, ReplacedAt: nanos(p.ReplacedAt)}
	}
	b, err := json.Marshal(&se)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	return b, nil
}

func samePayment(a, b *storedPayment) bool {
	ra, rb := a.RevertedAt, b.RevertedAt
	if (ra == nil) != (rb == nil) || (ra != nil && *ra != *rb) {
		return false
	}
	x, y := *a, *b
	x.RevertedAt, y.RevertedAt = nil, nil
	return x == y
}

// decodeEvent rebuilds an event from its record and the order's current state cur: the order
// as it stood right after the event.
func decodeEvent(cur *checkout.Order, rec []byte) (checkout.Event, error) {
	var se storedEvent
	if err := json.Unmarshal(rec, &se); err != nil {
		return checkout.Event{}, fmt.Errorf("decode event of %s: %w", cur.ID, err)
	}
	ev := checkout.Event{ID: se.ID, Type: se.Type, CreatedAt: fromNanos(se.CreatedAt), Order: *cur}
	switch {
	case !se.StateDoc:
		unpackState(&ev.Order, &se.State)
	case len(se.StateFrom) > 0:
		var d storedOrder
		if err := unmarshalDoc(se.StateFrom, &d); err != nil {
			return checkout.Event{}, fmt.Errorf("decode event of %s: its state: %w", cur.ID, err)
		}
		unpackState(&ev.Order, &d)
	}
	switch {
	case se.PayIndex != nil && *se.PayIndex >= 0 && *se.PayIndex < len(ev.Order.Payments):
		p := ev.Order.Payments[*se.PayIndex]
		ev.Payment = &p
	case se.Payment != nil:
		p := se.Payment.unpack()
		ev.Payment = &p
	}
	if p := se.Previous; p != nil {
		ev.Previous = &checkout.PreviousAddress{Network: p.Network, Address: p.Address,
			PayAmount: checkout.Amount(p.PayAmount), DerivationPath: p.Derivation, ReplacedAt: fromNanos(p.ReplacedAt)}
	}
	return ev, nil
}

// compactLastEvent rewrites a stored "ID RECORD" event whose order state is exactly the
// current document's (the last event of a finished order, as a rule) without that state
// (StateDoc), so it rebuilds to the same event from the document. ok is false, and nothing
// is to be written, when the states differ or the record is not one this encoding wrote.
func compactLastEvent(cur *checkout.Order, raw string) (string, bool) {
	id, rec, found := strings.Cut(raw, " ")
	if !found {
		return "", false
	}
	var se storedEvent
	if json.Unmarshal([]byte(rec), &se) != nil || se.StateDoc {
		return "", false
	}
	full, err := decodeEvent(cur, []byte(rec))
	if err != nil {
		return "", false
	}
	slim := se
	slim.State, slim.StateDoc = storedOrder{}, true
	b, err := json.Marshal(&slim)
	if err != nil {
		return "", false
	}
	again, err := decodeEvent(cur, b)
	if err != nil {
		return "", false
	}
	x, err1 := json.Marshal(&full)
	y, err2 := json.Marshal(&again)
	if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
		return "", false
	}
	return id + " " + string(b), true
}
