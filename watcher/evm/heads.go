package evm

import (
	"context"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// WakeOnHeads subscribes to new heads over the WebSocket JSON-RPC URL and signals wake for
// each (dropping signals while one is pending), resubscribing after errors until ctx ends. The
// scanner polls anyway, so a broken subscription only costs latency.
func WakeOnHeads(ctx context.Context, wsURL string, wake chan<- struct{}, log *slog.Logger) {
	for ctx.Err() == nil {
		err := followOnce(ctx, wsURL, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("watcher: head subscription failed; polling meanwhile", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

func followOnce(ctx context.Context, wsURL string, wake chan<- struct{}) error {
	cl, err := ethclient.DialContext(ctx, wsURL)
	if err != nil {
		return err
	}
	defer cl.Close()
	heads := make(chan *types.Header, 16)
	sub, err := cl.SubscribeNewHead(ctx, heads)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.Err():
			return err
		case <-heads:
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
}
