package devchain

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tyler-smith/go-bip39"

	"github.com/mpchat/checkout/deposit"
)

// payer is a funded development account: m/44'/60'/0'/0/i of the public dev mnemonic.
type payer struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

// MaxAccounts bounds the payer accounts a chain funds (and the payer index `devchain pay` accepts).
const MaxAccounts = 1000

// derivePayers derives the first n payer accounts (payer 0 is
// 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, the well-known first development account).
func derivePayers(n int) ([]*payer, error) {
	if n < 0 || n > MaxAccounts {
		return nil, fmt.Errorf("%d payer accounts: want 0 to %d", n, MaxAccounts)
	}
	seed := bip39.NewSeed(deposit.DevMnemonic, "")
	k, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return nil, fmt.Errorf("dev master key: %w", err)
	}
	for _, i := range []uint32{44, 60, 0} {
		if k, err = k.Derive(hdkeychain.HardenedKeyStart + i); err != nil {
			return nil, err
		}
	}
	if k, err = k.Derive(0); err != nil {
		return nil, err
	}
	out := make([]*payer, n)
	for i := range out {
		child, err := k.Derive(uint32(i))
		if err != nil {
			return nil, err
		}
		priv, err := child.ECPrivKey()
		if err != nil {
			return nil, err
		}
		key, err := crypto.ToECDSA(priv.Serialize())
		if err != nil {
			return nil, err
		}
		out[i] = &payer{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
	}
	return out, nil
}

// TokenAddress is where Start deploys the token: payer 0's first contract. A process that did
// not start the chain (`devchain pay`, the edge's dev-only pay button) knows it without asking.
func TokenAddress() common.Address {
	p, err := derivePayers(1)
	if err != nil {
		return common.Address{}
	}
	return crypto.CreateAddress(p[0].addr, 0)
}
