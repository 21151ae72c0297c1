package nodeproxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// handler serves the calls of one HTTP request with one snapshot of the faults; it reads the
// upstream head at most once.
type handler struct {
	p   *Proxy
	st  *state
	ctx context.Context
	v   *view
}

// view is where the node stands for this request.
type view struct {
	have uint64 // the highest block the node serves (upstream head − lag)
	head uint64 // what it reports as its head (have, or the frozen stale head)
}

func (h *handler) tron() bool { return h.p.cfg.TRON }

// plain says no rewriting is needed: an Ethereum-like node with no data fault.
func (h *handler) plain() bool {
	f := h.st.fault
	return !h.tron() && f.Lag == 0 && !f.StaleHead && len(h.st.forked) == 0
}

func invalidParams(msg string) *rpcError {
	return &rpcError{Code: -32602, Message: msg}
}

func (h *handler) serve(c *call) *response {
	resp := &response{JSONRPC: "2.0", ID: c.ID}
	if len(resp.ID) == 0 {
		resp.ID = json.RawMessage("null")
	}
	result, err := h.dispatch(c)
	if err != nil {
		if h.tron() && err.Data == nil {
			err.Data = "{}" // java-tron's error resolver always sends data
		}
		resp.Error = err
		return resp
	}
	if len(result) == 0 {
		result = json.RawMessage("null")
	}
	resp.Result = result
	return resp
}

func (h *handler) dispatch(c *call) (json.RawMessage, *rpcError) {
	if h.tron() {
		switch c.Method {
		case "eth_subscribe", "eth_unsubscribe":
			return nil, &rpcError{Code: -32601, Message: "method not found"}
		}
	}
	if h.plain() {
		return h.upstream(c.Method, c.Params)
	}
	var params []json.RawMessage
	if len(c.Params) > 0 && string(c.Params) != "null" {
		if err := json.Unmarshal(c.Params, &params); err != nil {
			return nil, invalidParams("invalid params")
		}
	}
	switch c.Method {
	case "eth_blockNumber":
		v, err := h.view()
		if err != nil {
			return nil, err
		}
		return jsonOf(hexutil.Uint64(v.head)), nil
	case "eth_getBlockByNumber":
		return h.blockByNumber(params)
	case "eth_getBlockByHash":
		return h.blockByHash(params)
	case "eth_getLogs":
		return h.logs(params)
	case "eth_getTransactionReceipt", "eth_getTransactionByHash":
		raw, err := h.upstream(c.Method, c.Params)
		if err != nil {
			return nil, err
		}
		return h.rewriteTxLike(raw)
	case "eth_getBlockReceipts":
		return h.blockReceipts(params)
	}
	return h.upstream(c.Method, c.Params)
}

// view reads the upstream head (once per request) and applies lag and stale head.
func (h *handler) view() (*view, *rpcError) {
	if h.v != nil {
		return h.v, nil
	}
	raw, err := h.upstream("eth_blockNumber", nil)
	if err != nil {
		return nil, err
	}
	var up hexutil.Uint64
	if e := json.Unmarshal(raw, &up); e != nil {
		return nil, internal(fmt.Errorf("upstream head %s: %w", raw, e))
	}
	v := &view{have: uint64(up)}
	if lag := h.st.fault.Lag; lag > 0 {
		v.have = uint64(up) - min(lag, uint64(up))
	}
	v.head = v.have
	if h.st.fault.StaleHead {
		h.p.mu.Lock()
		if h.p.frozen == nil && h.p.st == h.st {
			fr := v.have
			h.p.frozen = &fr
		}
		if h.p.frozen != nil {
			v.head = min(*h.p.frozen, v.have)
		}
		h.p.mu.Unlock()
	}
	h.v = v
	return v, nil
}

func internal(err error) *rpcError {
	return &rpcError{Code: -32603, Message: "nodeproxy: " + err.Error()}
}

// upstream makes one call to the dev chain.
func (h *handler) upstream(method string, params json.RawMessage) (json.RawMessage, *rpcError) {
	if len(params) == 0 {
		params = json.RawMessage("[]")
	}
	body, _ := json.Marshal(&call{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: method, Params: params})
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.p.upstream, bytes.NewReader(body))
	if err != nil {
		return nil, internal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := h.p.client.Do(req)
	if err != nil {
		return nil, internal(fmt.Errorf("upstream %s: %w", method, err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, internal(fmt.Errorf("upstream %s: %w", method, err))
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, internal(fmt.Errorf("upstream %s: HTTP %d: %.200s", method, res.StatusCode, b))
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

func (h *handler) upcall(method string, args ...any) (json.RawMessage, *rpcError) {
	p, err := json.Marshal(args)
	if err != nil {
		return nil, internal(err)
	}
	return h.upstream(method, p)
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// hashAt is the hash the node reports for the dev chain's block n with hash up.
func (h *handler) hashAt(n uint64, up common.Hash) common.Hash {
	out := up
	if h.tron() {
		binary.BigEndian.PutUint64(out[:8], n)
	}
	if h.st.forked[n] {
		// Past the height prefix, so TRON's form stays valid.
		for i := 8; i < 32; i++ {
			out[i] ^= 0xa5
		}
	}
	return out
}

// tag resolves a block tag or number. forLogs applies java-tron's eth_getLogs rules.
func (h *handler) tag(raw json.RawMessage, forLogs bool) (uint64, *rpcError) {
	var s string
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, invalidParams("invalid block number")
		}
	}
	v, err := h.view()
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(s) {
	case "", "latest":
		return v.head, nil
	case "earliest":
		return 0, nil
	case "pending":
		if h.tron() {
			return 0, invalidParams("TAG pending not supported")
		}
		return v.head, nil
	case "safe", "finalized":
		if h.tron() {
			if s == "safe" {
				return 0, invalidParams("TAG safe not supported")
			}
			if forLogs {
				return 0, invalidParams("invalid block range params")
			}
			return v.head - min(v.head, h.p.cfg.SolidifyDepth), nil
		}
		// An Ethereum node: the dev chain's own safe/finalized block, within what this node has.
		res, err := h.upcall("eth_getBlockByNumber", s, false)
		if err != nil {
			return 0, err
		}
		var b struct {
			Number hexutil.Uint64 `json:"number"`
		}
		if string(res) == "null" || json.Unmarshal(res, &b) != nil {
			return 0, nil
		}
		return min(uint64(b.Number), v.have), nil
	}
	n, e := hexutil.DecodeUint64(s)
	if e != nil {
		if h.tron() {
			return 0, invalidParams("invalid block number")
		}
		return 0, invalidParams("invalid argument 0: " + e.Error())
	}
	return n, nil
}

func (h *handler) fullTxs(params []json.RawMessage) bool {
	var full bool
	if len(params) > 1 {
		_ = json.Unmarshal(params[1], &full)
	}
	return full
}

func (h *handler) blockByNumber(params []json.RawMessage) (json.RawMessage, *rpcError) {
	if len(params) == 0 {
		return nil, invalidParams("missing value for required argument 0")
	}
	n, err := h.tag(params[0], false)
	if err != nil {
		return nil, err
	}
	return h.block(n, h.fullTxs(params))
}

// block is the node's block n (null past what it has).
func (h *handler) block(n uint64, full bool) (json.RawMessage, *rpcError) {
	v, err := h.view()
	if err != nil {
		return nil, err
	}
	if n > v.have {
		return json.RawMessage("null"), nil
	}
	raw, err := h.upcall("eth_getBlockByNumber", hexutil.EncodeUint64(n), full)
	if err != nil {
		return nil, err
	}
	return h.rewriteBlock(raw)
}

func (h *handler) blockByHash(params []json.RawMessage) (json.RawMessage, *rpcError) {
	if len(params) == 0 {
		return nil, invalidParams("missing value for required argument 0")
	}
	var hash common.Hash
	if err := json.Unmarshal(params[0], &hash); err != nil {
		return nil, invalidParams("invalid hash value")
	}
	n, ok, err := h.resolveHash(hash)
	if err != nil || !ok {
		return json.RawMessage("null"), err
	}
	return h.block(n, h.fullTxs(params))
}

// resolveHash finds the block the node reports with hash, if it has one.
func (h *handler) resolveHash(hash common.Hash) (uint64, bool, *rpcError) {
	v, err := h.view()
	if err != nil {
		return 0, false, err
	}
	check := func(n uint64) (bool, *rpcError) {
		if n > v.have {
			return false, nil
		}
		up, err := h.upstreamHash(n)
		if err != nil || up == nil {
			return false, err
		}
		return h.hashAt(n, *up) == hash, nil
	}
	if h.tron() {
		n := binary.BigEndian.Uint64(hash[:8])
		ok, err := check(n)
		return n, ok, err
	}
	for n := range h.st.forked {
		if ok, err := check(n); err != nil || ok {
			return n, ok, err
		}
	}
	// Not a forged hash: the dev chain's own, unless it is that of a block this node lies about.
	raw, err := h.upcall("eth_getBlockByHash", hash, false)
	if err != nil || string(raw) == "null" {
		return 0, false, err
	}
	var b struct {
		Number hexutil.Uint64 `json:"number"`
	}
	if e := json.Unmarshal(raw, &b); e != nil {
		return 0, false, internal(e)
	}
	n := uint64(b.Number)
	if h.st.forked[n] || n > v.have {
		return 0, false, nil
	}
	return n, true, nil
}

// upstreamHash is the dev chain's hash of block n (nil if none).
func (h *handler) upstreamHash(n uint64) (*common.Hash, *rpcError) {
	raw, err := h.upcall("eth_getBlockByNumber", hexutil.EncodeUint64(n), false)
	if err != nil || string(raw) == "null" {
		return nil, err
	}
	var b struct {
		Hash common.Hash `json:"hash"`
	}
	if e := json.Unmarshal(raw, &b); e != nil {
		return nil, internal(e)
	}
	return &b.Hash, nil
}

var zeroBloom = jsonOf(hexutil.Bytes(make([]byte, 256)))

// rewriteBlock rewrites a block's hashes (and, for TRON, its bloom).
func (h *handler) rewriteBlock(raw json.RawMessage) (json.RawMessage, *rpcError) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("null"), nil
	}
	var b map[string]json.RawMessage
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, internal(fmt.Errorf("block: %w", err))
	}
	var hdr struct {
		Number     hexutil.Uint64 `json:"number"`
		Hash       common.Hash    `json:"hash"`
		ParentHash common.Hash    `json:"parentHash"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return nil, internal(fmt.Errorf("block: %w", err))
	}
	n := uint64(hdr.Number)
	b["hash"] = jsonOf(h.hashAt(n, hdr.Hash))
	if n > 0 {
		b["parentHash"] = jsonOf(h.hashAt(n-1, hdr.ParentHash))
	}
	if h.tron() {
		b["logsBloom"] = zeroBloom
	}
	if txs, ok := b["transactions"]; ok && len(txs) > 0 && txs[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(txs, &list); err == nil && len(list) > 0 && list[0][0] == '{' {
			for i, tx := range list {
				var err *rpcError
				if list[i], err = h.rewriteTxLike(tx); err != nil {
					return nil, err
				}
			}
			b["transactions"] = jsonOf(list)
		}
	}
	return jsonOf(b), nil
}

// rewriteTxLike rewrites a transaction, receipt or log: its blockHash, and a receipt's logs
// and bloom. One from a block the node does not have yet is null.
func (h *handler) rewriteTxLike(raw json.RawMessage) (json.RawMessage, *rpcError) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("null"), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, internal(fmt.Errorf("object: %w", err))
	}
	var ref struct {
		BlockNumber *hexutil.Uint64 `json:"blockNumber"`
		BlockHash   *common.Hash    `json:"blockHash"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return nil, internal(fmt.Errorf("object: %w", err))
	}
	if ref.BlockNumber == nil || ref.BlockHash == nil {
		return raw, nil // a pending transaction
	}
	v, err := h.view()
	if err != nil {
		return nil, err
	}
	n := uint64(*ref.BlockNumber)
	if n > v.have {
		return json.RawMessage("null"), nil
	}
	m["blockHash"] = jsonOf(h.hashAt(n, *ref.BlockHash))
	if logs, ok := m["logs"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(logs, &list); err == nil {
			for i, l := range list {
				var err *rpcError
				if list[i], err = h.rewriteTxLike(l); err != nil {
					return nil, err
				}
			}
			m["logs"] = jsonOf(list)
		}
	}
	if _, ok := m["logsBloom"]; ok && h.tron() {
		m["logsBloom"] = zeroBloom
	}
	return jsonOf(m), nil
}

func (h *handler) blockReceipts(params []json.RawMessage) (json.RawMessage, *rpcError) {
	if len(params) == 0 {
		return nil, invalidParams("missing value for required argument 0")
	}
	var n uint64
	var s string
	if json.Unmarshal(params[0], &s) == nil && len(s) == 66 {
		var ok bool
		var err *rpcError
		if n, ok, err = h.resolveHash(common.HexToHash(s)); err != nil || !ok {
			return json.RawMessage("null"), err
		}
	} else {
		var err *rpcError
		if n, err = h.tag(params[0], false); err != nil {
			return nil, err
		}
	}
	if v, err := h.view(); err != nil || n > v.have {
		return json.RawMessage("null"), err
	}
	raw, err := h.upcall("eth_getBlockReceipts", hexutil.EncodeUint64(n))
	if err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if string(raw) == "null" || json.Unmarshal(raw, &list) != nil {
		return raw, nil
	}
	for i, r := range list {
		if list[i], err = h.rewriteTxLike(r); err != nil {
			return nil, err
		}
	}
	return jsonOf(list), nil
}

// logs serves eth_getLogs as java-tron's LogFilterWrapper and LogBlockQuery do in TRON mode.
func (h *handler) logs(params []json.RawMessage) (json.RawMessage, *rpcError) {
	if len(params) == 0 {
		return nil, invalidParams("missing value for required argument 0")
	}
	var fq map[string]json.RawMessage
	if err := json.Unmarshal(params[0], &fq); err != nil {
		return nil, invalidParams("invalid filter")
	}
	v, err := h.view()
	if err != nil {
		return nil, err
	}
	nonEmpty := func(k string) bool {
		raw, ok := fq[k]
		return ok && string(raw) != "null" && string(raw) != `""`
	}
	var from, to uint64
	if bh, ok := fq["blockHash"]; ok && string(bh) != "null" {
		if nonEmpty("fromBlock") || nonEmpty("toBlock") {
			return nil, invalidParams("cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
		}
		var hash common.Hash
		if e := json.Unmarshal(bh, &hash); e != nil {
			return nil, invalidParams("invalid blockHash")
		}
		n, found, err := h.resolveHash(hash)
		if err != nil {
			return nil, err
		}
		if !found {
			if h.tron() {
				return nil, invalidParams("invalid blockHash")
			}
			return nil, &rpcError{Code: -32000, Message: "unknown block"}
		}
		from, to = n, n
		delete(fq, "blockHash")
	} else {
		// java-tron's four cases: an omitted bound is the head (from) or open (to).
		to = v.have
		if nonEmpty("toBlock") {
			if to, err = h.tag(fq["toBlock"], true); err != nil {
				return nil, err
			}
		}
		from = min(to, v.have)
		if nonEmpty("fromBlock") {
			if from, err = h.tag(fq["fromBlock"], true); err != nil {
				return nil, err
			}
		}
		if from > to {
			if h.tron() {
				return nil, invalidParams("please verify: fromBlock <= toBlock")
			}
			return nil, invalidParams("invalid block range params")
		}
		if mr := h.p.cfg.MaxBlockRange; h.tron() && mr > 0 && int64(min(to, v.have))-int64(from) > mr {
			return nil, invalidParams(fmt.Sprintf("exceed max block range: %d", mr))
		}
	}
	to = min(to, v.have) // nothing past what the node has
	if from > to {
		return json.RawMessage("[]"), nil
	}
	fq["fromBlock"] = jsonOf(hexutil.EncodeUint64(from))
	fq["toBlock"] = jsonOf(hexutil.EncodeUint64(to))
	raw, err := h.upcall("eth_getLogs", fq)
	if err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if e := json.Unmarshal(raw, &list); e != nil {
		return nil, internal(fmt.Errorf("logs: %w", e))
	}
	if mr := h.p.cfg.MaxResults; h.tron() && mr > 0 && len(list) > mr {
		return nil, &rpcError{Code: -32005, Message: fmt.Sprintf("query returned more than %d results", mr)}
	}
	for i, l := range list {
		if list[i], err = h.rewriteTxLike(l); err != nil {
			return nil, err
		}
	}
	if list == nil {
		return json.RawMessage("[]"), nil
	}
	return jsonOf(list), nil
}
