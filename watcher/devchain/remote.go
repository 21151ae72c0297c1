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
	payers, err := Payers(from + 1)
	if err != nil || from < 0 {
		return nil, fmt.Errorf("payer %d: %v", from, err)
	}
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", rpcURL, err)
	}
	defer cl.Close()
	data, err := transferData(to, amount)
	if err != nil {
		return nil, err
	}
	h, err := send(ctx, cl, payers[from], &token, data, 0)
	if err != nil {
		return nil, err
	}
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
