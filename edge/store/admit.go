package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// Admission is the Redis work of letting one signed merchant API request in, sent in one
// pipelined round trip (on a Redis Cluster, one per node it touches). Its commands are
// independent of each other, so none waits for another's answer; the caller decides from all
// the answers together and, when it refuses the request, calls Undo to take back what the
// round trip did on its behalf (the rate spent, the replay mark, the claim).
type Admission struct {
	// KeyID is the API key whose current record is read (revocation is seen at once even
	// when the caller verified the signature with a cached copy).
	KeyID string
	// Checks are budgets that must not be spent (failed authentications); nothing is spent.
	Checks []Bucket
	// Spend, if set, spends one request from its budget (the key's rate limit).
	Spend *Bucket
	// ReplaySig, if set, marks the signed request (KeyID, ReplaySig) as used for ReplayTTL.
	ReplaySig string
	ReplayTTL time.Duration
	// Claim, if set, reserves a new order's identity (see ClaimOrder); with an idempotency
	// key the claim is tentative until nobody can take it back (see Undo).
	Claim *ClaimRequest
	// Order, if set, loads that order (a read: GET /v1/orders/{id} needs no other trip).
	Order string
}

// Bucket names a rate-limit budget and its limit.
type Bucket struct {
	Name  string
	Limit Limit
}

// ClaimRequest is ClaimOrder's arguments.
type ClaimRequest struct {
	MerchantID, Counter, IdemKey, OrderID, ParamsHash string
	Now                                               time.Time
}

// Verdict is a budget's answer: whether the request passes, and if not, when one would.
type Verdict struct {
	OK    bool
	Retry time.Duration
}

// Admitted is the answer of an Admission's round trip.
type Admitted struct {
	Key      *checkout.APIKey // the key's current record; nil if it does not exist
	Checks   []Verdict        // one per Admission.Checks
	Spend    Verdict          // Admission.Spend's (OK when there was none)
	FirstUse bool             // the replay mark was new (true when none was asked)
	Claim    Claim            // Admission.Claim's
	Order    *Record          // Admission.Order's; nil if there is no such order

	spent     bool   // Spend took one request
	marked    bool   // this request set the replay mark
	index     uint32 // no-idempotency-key claim: the index handed out
	fromSpare bool
}

// Admit runs the admission's commands in one round trip. Errors are Redis failures; a Redis
// failure of one command fails the whole admission (after taking back what it can).
func (s *Store) Admit(ctx context.Context, a *Admission) (*Admitted, error) {
	r := &Admitted{Spend: Verdict{OK: true}, FirstUse: true, Checks: make([]Verdict, len(a.Checks))}
	var (
		key    *redis.StringCmd
		checks = make([]*redis.Cmd, len(a.Checks))
		spend  *redis.Cmd
		mark   *redis.BoolCmd
		incr   *redis.IntCmd
		claim  *redis.Cmd
		order  *redis.SliceCmd
		spare  = -1
	)
	for _, b := range a.Checks {
		if err := b.valid(); err != nil {
			return nil, err
		}
	}
	if a.Spend != nil {
		if err := a.Spend.valid(); err != nil {
			return nil, err
		}
	}
	if a.Claim != nil && a.Claim.IdemKey == "" {
		if i, ok := s.spare.take(a.Claim.MerchantID, a.Claim.Counter); ok {
			r.index, r.fromSpare = i, true
		}
	}
	if a.Claim != nil && a.Claim.IdemKey != "" {
		if i, ok := s.spare.take(a.Claim.MerchantID, a.Claim.Counter); ok {
			spare = int(i)
		}
	}
	// Each command's answer is read below; the pipeline's own error is only the first of them.
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		key = p.HGet(ctx, s.k.apiKey(a.KeyID), "doc")
		for i, b := range a.Checks {
			checks[i] = s.gcraCmd(ctx, p, b, 0)
		}
		if a.Spend != nil {
			spend = s.gcraCmd(ctx, p, *a.Spend, 1)
		}
		if a.ReplaySig != "" {
			mark = p.SetNX(ctx, s.k.replay(a.KeyID, a.ReplaySig), 1, max(a.ReplayTTL, time.Second))
		}
		if c := a.Claim; c != nil {
			counter := s.k.addrCounter(c.MerchantID, c.Counter)
			switch {
			case c.IdemKey == "" && !r.fromSpare:
				incr = p.Incr(ctx, counter)
			case c.IdemKey != "":
				idx := ""
				if spare >= 0 {
					idx = strconv.Itoa(spare)
				}
				claim = claimScript.EvalSha(ctx, p, []string{s.k.idempotency(c.MerchantID, c.IdemKey), counter},
					c.OrderID, c.ParamsHash, c.Now.UnixMilli(), int(IdempotencyTTL/time.Second), "1", idx)
			}
		}
		if a.Order != "" {
			order = p.HMGet(ctx, s.k.order(a.Order), "doc", "merchant", "ver", feedPosField)
		}
		return nil
	})
	// A script Redis has not cached yet (a restart, SCRIPT FLUSH) did nothing: run it again
	// on its own. Every other command's answer stands.
	for i, c := range checks {
		if noScript(c) {
			checks[i] = gcraScript.Run(ctx, s.rdb, []string{s.k.rate(a.Checks[i].Name)}, a.Checks[i].Limit.Burst, every(a.Checks[i].Limit), 0)
		}
	}
	if noScript(spend) {
		spend = gcraScript.Run(ctx, s.rdb, []string{s.k.rate(a.Spend.Name)}, a.Spend.Limit.Burst, every(a.Spend.Limit), 1)
	}
	if noScript(claim) {
		c := a.Claim
		idx := ""
		if spare >= 0 {
			idx = strconv.Itoa(spare)
		}
		claim = claimScript.Run(ctx, s.rdb, []string{s.k.idempotency(c.MerchantID, c.IdemKey), s.k.addrCounter(c.MerchantID, c.Counter)},
			c.OrderID, c.ParamsHash, c.Now.UnixMilli(), int(IdempotencyTTL/time.Second), "1", idx)
	}
	// Read every answer, remembering what was done, so Undo can take it back on an error too.
	var errs []error
	if spend != nil {
		v, e := verdict(spend)
		r.Spend, r.spent = v, e == nil && v.OK
		errs = append(errs, e)
	}
	if mark != nil {
		ok, e := mark.Result()
		r.FirstUse, r.marked = ok, e == nil && ok
		if e != nil {
			errs = append(errs, fmt.Errorf("replay check: %w", e))
		}
	}
	if incr != nil {
		n, e := incr.Result()
		if e != nil {
			errs = append(errs, fmt.Errorf("allocate address index: %w", e))
		} else {
			r.index = uint32(n - 1)
		}
	}
	if a.Claim != nil && a.Claim.IdemKey == "" && (incr == nil || incr.Err() == nil) {
		c := a.Claim
		r.Claim = Claim{OrderID: c.OrderID, ParamsHash: c.ParamsHash, Index: r.index, CreatedAt: c.Now}
	}
	if claim != nil {
		res, e := claim.Slice()
		if e == nil {
			r.Claim, e = readClaim(res)
		}
		switch {
		case e != nil: // it may have run and used the spare index: that one is a gap now
			errs = append(errs, fmt.Errorf("claim idempotency key: %w", e))
		case r.Claim.Replayed || int(r.Claim.Index) != spare:
			s.spare.put(a.Claim.MerchantID, a.Claim.Counter, spare) // not used by this claim
		}
	}
	for i, c := range checks {
		v, e := verdict(c)
		r.Checks[i] = v
		errs = append(errs, e)
	}
	if b, e := key.Bytes(); e == nil {
		var k checkout.APIKey
		if e := json.Unmarshal(b, &k); e != nil {
			errs = append(errs, fmt.Errorf("decode api key %s: %w", a.KeyID, e))
		} else {
			r.Key = &k
		}
	} else if !errors.Is(e, redis.Nil) {
		errs = append(errs, fmt.Errorf("api key: %w", e))
	}
	if order != nil {
		rec, e := readOrder(a.Order, order)
		if e != nil && !errors.Is(e, ErrNotFound) {
			errs = append(errs, e)
		}
		r.Order = rec
	}
	if err := errors.Join(errs...); err != nil {
		_ = s.Undo(context.WithoutCancel(ctx), a, r)
		return nil, err
	}
	return r, nil
}

// Undo takes back what an admission did for a request the caller then refused: the request
// it spent (given back to the budget), its replay mark (so the very same signed request can
// be sent again once it would pass) and its claim (the index returns to this process's
// spare indexes; a tentative idempotency record is deleted unless another request has found
// it since). Nothing it did not do is touched.
func (s *Store) Undo(ctx context.Context, a *Admission, r *Admitted) error {
	if r == nil {
		return nil
	}
	var retract *redis.Cmd
	c := a.Claim
	idemClaim := c != nil && c.IdemKey != "" && !r.Claim.Replayed && r.Claim.OrderID == c.OrderID
	if a.Spend == nil {
		r.spent = false // the caller keeps the spend
	}
	if !r.spent && !r.marked && !idemClaim {
		s.putBack(a, r)
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if r.spent {
			gcraScript.Eval(ctx, p, []string{s.k.rate(a.Spend.Name)}, a.Spend.Limit.Burst, every(a.Spend.Limit), -1)
		}
		if r.marked {
			p.Del(ctx, s.k.replay(a.KeyID, a.ReplaySig))
		}
		if idemClaim {
			retract = retractScript.Eval(ctx, p, []string{s.k.idempotency(c.MerchantID, c.IdemKey)}, c.OrderID)
		}
		return nil
	})
	r.spent, r.marked = false, false
	s.putBack(a, r)
	if retract != nil {
		if idx, e := retract.Text(); e == nil {
			if n, e := strconv.ParseUint(idx, 10, 32); e == nil {
				s.spare.put(c.MerchantID, c.Counter, int(n))
			}
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("undo admission: %w", err)
	}
	return nil
}

// putBack returns a no-idempotency-key claim's index to the spare indexes: nobody saw it.
func (s *Store) putBack(a *Admission, r *Admitted) {
	if a.Claim == nil || a.Claim.IdemKey != "" {
		return
	}
	if r.fromSpare || r.Claim.OrderID != "" {
		s.spare.put(a.Claim.MerchantID, a.Claim.Counter, int(r.index))
		r.fromSpare = false
		r.Claim.OrderID = ""
	}
}

func (b Bucket) valid() error {
	if b.Limit.Burst < 1 || b.Limit.Every <= 0 {
		return fmt.Errorf("rate limit %s: burst %d every %s is not a limit", b.Name, b.Limit.Burst, b.Limit.Every)
	}
	return nil
}

func every(l Limit) float64 { return float64(l.Every) / float64(time.Millisecond) }

func (s *Store) gcraCmd(ctx context.Context, p redis.Pipeliner, b Bucket, cost int) *redis.Cmd {
	return gcraScript.EvalSha(ctx, p, []string{s.k.rate(b.Name)}, b.Limit.Burst, every(b.Limit), cost)
}

func noScript(c *redis.Cmd) bool { return c != nil && redis.HasErrorPrefix(c.Err(), "NOSCRIPT") }

func verdict(c *redis.Cmd) (Verdict, error) {
	res, err := c.Int64Slice()
	if err != nil {
		return Verdict{}, fmt.Errorf("rate limit: %w", err)
	}
	if len(res) != 2 {
		return Verdict{}, fmt.Errorf("rate limit: unexpected answer %v", res)
	}
	return Verdict{OK: res[0] == 1, Retry: time.Duration(res[1]) * time.Millisecond}, nil
}

// spareIndexes are address indexes this process took from a counter for a request it then
// refused: nobody has seen them, so the next order of that counter takes one instead of
// leaving a gap. Bounded per counter; what does not fit is a gap, as after a crash.
type spareIndexes struct {
	mu sync.Mutex
	m  map[string][]uint32
}

const sparesKept = 64

func (p *spareIndexes) take(merchantID, counter string) (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := merchantID + "\x00" + counter
	l := p.m[k]
	if len(l) == 0 {
		return 0, false
	}
	i := l[len(l)-1]
	if len(l) == 1 {
		delete(p.m, k)
	} else {
		p.m[k] = l[:len(l)-1]
	}
	return i, true
}

func (p *spareIndexes) put(merchantID, counter string, i int) {
	if i < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string][]uint32{}
	}
	k := merchantID + "\x00" + counter
	if len(p.m[k]) < sparesKept && len(p.m) < 10_000 {
		p.m[k] = append(p.m[k], uint32(i))
	}
}
