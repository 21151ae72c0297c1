package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// AuditMaxLen bounds each audit stream: the newest ~10,000 entries of a merchant (Redis trims
// approximately, so a few more may stay), about 2–3 MB at ~250 B an entry.
const AuditMaxLen = 10_000

// AuditEntry is one recorded action of the dashboard or of an operator command.
type AuditEntry struct {
	// ID is the stream entry id (time-ordered); set when read.
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Actor is who acted: a user's e-mail address, "operator" for a command-line operator,
	// or the e-mail address someone tried to sign in as.
	Actor string `json:"actor"`
	// UserID is the user acted on or as, when known.
	UserID string `json:"user_id,omitempty"`
	Action string `json:"action"`
	// IP is the client the request came from (edge/clientip); empty for commands.
	IP     string `json:"ip,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// AppendAudit adds e to the audit stream of merchantID ("" = the operators' stream), trimmed
// to about AuditMaxLen entries.
func (s *Store) AppendAudit(ctx context.Context, merchantID string, e AuditEntry) error {
	return wrap("append audit", s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: s.k.audit(merchantID), MaxLen: AuditMaxLen, Approx: true,
		Values: []any{"at", e.At.UTC().Format(time.RFC3339Nano), "actor", e.Actor, "user", e.UserID,
			"action", e.Action, "ip", e.IP, "detail", e.Detail},
	}).Err())
}

// Audit returns up to count entries of merchantID's audit stream ("" = the operators'),
// newest first.
func (s *Store) Audit(ctx context.Context, merchantID string, count int64) ([]AuditEntry, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.k.audit(merchantID), "+", "-", count).Result()
	if err != nil {
		return nil, wrap("read audit", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		at, _ := time.Parse(time.RFC3339Nano, str("at"))
		out = append(out, AuditEntry{ID: m.ID, At: at, Actor: str("actor"), UserID: str("user"),
			Action: str("action"), IP: str("ip"), Detail: str("detail")})
	}
	return out, nil
}
