package devchain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	checkout "github.com/mpchat/checkout"
)

// Payment is what PayRemote did.
type Payment struct {
	TxHash      common.Hash
	From        common.Address
	BlockNumber uint64 // 0 unless waited for
}

// PayRemote pays amount of the dev token from payer `from` to `to` on the dev chain at rpcURL
// (token zero means TokenAddress()). With wait, it returns once the transfer is in a block.
func PayRemote(ctx context.Context, rpcURL string, from int, to, token common.Address, amount checkout.Amount, wait bool) (*Payment, error) {
	if token == (common.Address{}) {
		token = TokenAddress()
	}
	if from < 0 || from >= MaxAccounts {
		return nil, fmt.Errorf("payer %d: want 0 to %d", from, MaxAccounts-1)
	}
	payers, err := derivePayers(from + 1)
	if err != nil {
		return nil, err
	}
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rpcURL, err)
	}
	defer cl.Close()
	// The payer keys are public: refuse anything but a dev chain rather than sign for it.
	id, err := cl.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain id of %s: %w", rpcURL, err)
	}
	if id.Cmp(ChainID) != 0 {
		return nil, fmt.Errorf("%s is chain %v, not a dev chain (%v)", rpcURL, id, ChainID)
	}
	// A call to an address without code succeeds and moves nothing: check the token is there.
	if code, err := cl.CodeAt(ctx, token, nil); err != nil {
		return nil, fmt.Errorf("token code at %s: %w", token.Hex(), err)
	} else if len(code) == 0 {
		return nil, fmt.Errorf("no contract at token address %s on %s", token.Hex(), rpcURL)
	}
	data, err := transferData(to, amount)
	if err != nil {
		return nil, err
	}
	tx, err := send(ctx, cl, payers[from], &token, data, 0)
	if err != nil {
		return nil, err
	}
	h := tx.Hash()
	p := &Payment{TxHash: h, From: payers[from].addr}
	if !wait {
		return p, nil
	}
	for {
		r, err := cl.TransactionReceipt(ctx, h)
		if err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				return nil, fmt.Errorf("transfer %s reverted", h.Hex())
			}
			p.BlockNumber = r.BlockNumber.Uint64()
			return p, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, fmt.Errorf("receipt: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
