// Package deposit makes deposit addresses: BIP32/BIP44 derivation from a merchant's
// account-level extended PUBLIC key, and each network's address format (TRON base58check,
// Ethereum EIP-55). The gateway never holds a private key; the only private derivation here is
// of the public development mnemonic, for the dev chain.
package deposit

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tyler-smith/go-bip39"

	checkout "github.com/mpchat/checkout"
)

// Errors of ParseAccountXPub, Address and the address parsers (wrapped with detail).
var (
	ErrNotXPub      = errors.New("not a mainnet extended public key (xpub…)")
	ErrPrivateKey   = errors.New("an extended PRIVATE key was given: give the account xpub; the gateway never holds private keys")
	ErrNotAccount   = errors.New("not an account-level key (BIP44 m/44'/coin'/account', depth 3, hardened)")
	ErrInvalidChild = errors.New("invalid child index: skip to the next index")
	ErrAddress      = errors.New("invalid address")
)

// tronVersion is the version byte of TRON mainnet addresses ("T…").
const tronVersion = 0x41

// AccountKey is a parsed account-level xpub. Immutable; safe for concurrent use.
type AccountKey struct {
	xpub      string
	account   uint32 // the account's child number, without the hardened bit
	external  *hdkeychain.ExtendedKey
	chainCode []byte                  // of the external chain key
	parentSer []byte                  // its compressed public key, as BIP32 hashes it
	parentPt  secp256k1.JacobianPoint // its point, for the addition
	fp        string
}

// ParseAccountXPub parses a mainnet xpub at BIP44 account depth (3) with a hardened child
// number. It refuses private keys, other networks' versions, other depths and garbage.
func ParseAccountXPub(s string) (*AccountKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "xprv") {
		return nil, ErrPrivateKey
	}
	k, err := hdkeychain.NewKeyFromString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotXPub, err)
	}
	if k.IsPrivate() {
		return nil, ErrPrivateKey
	}
	if !k.IsForNet(&chaincfg.MainNetParams) {
		return nil, fmt.Errorf("%w: version is not mainnet xpub", ErrNotXPub)
	}
	if k.Depth() != 3 || k.ChildIndex() < hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("%w: depth %d, child %d", ErrNotAccount, k.Depth(), k.ChildIndex())
	}
	external, err := k.Derive(0)
	if err != nil {
		return nil, fmt.Errorf("derive external chain: %w", err)
	}
	pub, err := external.ECPubKey()
	if err != nil {
		return nil, fmt.Errorf("external chain public key: %w", err)
	}
	sum := sha256.Sum256([]byte(k.String()))
	ak := &AccountKey{xpub: k.String(), account: k.ChildIndex() - hdkeychain.HardenedKeyStart,
		external: external, chainCode: external.ChainCode(), parentSer: pub.SerializeCompressed(),
		fp: hex.EncodeToString(sum[:8])}
	pub.AsJacobian(&ak.parentPt)
	return ak, nil
}

// String returns the xpub.
func (k *AccountKey) String() string { return k.xpub }

// Fingerprint is a stable short id of the xpub (16 hex digits), for uniqueness keys.
func (k *AccountKey) Fingerprint() string { return k.fp }

// Address derives external chain 0, index i, formatted for the network, and its path
// ("m/44'/195'/0'/0/7"). An index at which BIP32 derivation is invalid returns
// ErrInvalidChild (probability about 2^-127): skip it.
func (k *AccountKey) Address(n checkout.Network, index uint32) (addr, path string, err error) {
	if index >= hdkeychain.HardenedKeyStart {
		return "", "", fmt.Errorf("index %d out of range", index)
	}
	pt, err := k.childPoint(index)
	if err != nil {
		return "", "", err
	}
	var raw [20]byte
	copy(raw[:], crypto.Keccak256(pt)[12:])
	path = fmt.Sprintf("m/44'/%d'/%d'/0/%d", n.CoinType(), k.account, index)
	return Format(n, raw), path, nil
}

// childPoint is BIP32 public child derivation (CKDpub) of the external chain key, returning the
// child's uncompressed public key without its 0x04 prefix (X ‖ Y), which is what an address
// hashes. hdkeychain.Derive computes the same point but hands it back compressed, and
// decompressing costs a field square root per address; going straight to X ‖ Y with the same
// secp256k1 library halves the cost of an order's address (see BenchmarkAddress). The test
// TestChildPointMatchesHDKeychain checks it against hdkeychain for many indexes.
func (k *AccountKey) childPoint(index uint32) ([]byte, error) {
	mac := hmac.New(sha512.New, k.chainCode)
	mac.Write(k.parentSer)
	var idx [4]byte
	binary.BigEndian.PutUint32(idx[:], index)
	mac.Write(idx[:])
	il := mac.Sum(nil)[:32]
	var scalar secp256k1.ModNScalar
	if overflow := scalar.SetByteSlice(il); overflow || scalar.IsZero() {
		return nil, ErrInvalidChild
	}
	var ilG, child secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&scalar, &ilG)
	secp256k1.AddNonConst(&ilG, &k.parentPt, &child)
	if (child.X.IsZero() && child.Y.IsZero()) || child.Z.IsZero() {
		return nil, ErrInvalidChild // point at infinity
	}
	child.ToAffine()
	out := make([]byte, 64)
	child.X.PutBytesUnchecked(out[:32])
	child.Y.PutBytesUnchecked(out[32:])
	return out, nil
}

// EncodeEVM formats 20 bytes as an EIP-55 checksummed address.
func EncodeEVM(a [20]byte) string {
	lower := hex.EncodeToString(a[:])
	hash := crypto.Keccak256([]byte(lower))
	out := []byte("0x" + lower)
	for i := 0; i < 40; i++ {
		c := out[i+2]
		if c >= 'a' && c <= 'f' && hash[i/2]>>(4*(1-uint(i%2)))&0xf >= 8 {
			out[i+2] = c - 32
		}
	}
	return string(out)
}

// ParseEVM parses a 0x address: all lowercase, all uppercase, or correctly checksummed.
func ParseEVM(s string) ([20]byte, error) {
	var a [20]byte
	body, ok := strings.CutPrefix(s, "0x")
	if !ok || len(body) != 40 {
		return a, fmt.Errorf("%w: an Ethereum address is 0x + 40 hex digits", ErrAddress)
	}
	b, err := hex.DecodeString(body)
	if err != nil {
		return a, fmt.Errorf("%w: not hex", ErrAddress)
	}
	copy(a[:], b)
	if body != strings.ToLower(body) && body != strings.ToUpper(body) && EncodeEVM(a) != s {
		return a, fmt.Errorf("%w: EIP-55 checksum mismatch", ErrAddress)
	}
	return a, nil
}

// EncodeTRON formats 20 bytes as a TRON base58check address (T…).
func EncodeTRON(a [20]byte) string { return base58.CheckEncode(a[:], tronVersion) }

// ParseTRON parses a TRON base58check address.
func ParseTRON(s string) ([20]byte, error) {
	var a [20]byte
	if len(s) != 34 || s[0] != 'T' {
		return a, fmt.Errorf("%w: a TRON address is 34 characters starting with T", ErrAddress)
	}
	b, version, err := base58.CheckDecode(s)
	if err != nil {
		return a, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	if version != tronVersion || len(b) != 20 {
		return a, fmt.Errorf("%w: not a TRON mainnet address", ErrAddress)
	}
	copy(a[:], b)
	return a, nil
}

// Format formats 20 address bytes in the network's own format.
func Format(n checkout.Network, a [20]byte) string {
	if n == checkout.TRC20 {
		return EncodeTRON(a)
	}
	return EncodeEVM(a)
}

// Parse parses an address in the network's own format: T… for TRC20, 0x… for ERC20.
func Parse(n checkout.Network, s string) ([20]byte, error) {
	if n == checkout.TRC20 {
		return ParseTRON(s)
	}
	return ParseEVM(s)
}

// DevMnemonic is the well-known public development mnemonic (hardhat, anvil). Dev chain ONLY:
// anyone can spend what its keys hold.
const DevMnemonic = "test test test test test test test test test test test junk"

// DevAccountXPub returns the xpub of m/44'/coin'/account' of DevMnemonic for the network.
// Account 0 of coin 60 holds the dev chain's funded payers; dev merchants get accounts ≥ 1.
func DevAccountXPub(n checkout.Network, account uint32) (string, error) {
	k, err := devKey(n.CoinType(), account)
	if err != nil {
		return "", err
	}
	pub, err := k.Neuter()
	if err != nil {
		return "", fmt.Errorf("neuter dev key: %w", err)
	}
	return pub.String(), nil
}

func devKey(coin, account uint32) (*hdkeychain.ExtendedKey, error) {
	seed := bip39.NewSeed(DevMnemonic, "")
	k, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return nil, fmt.Errorf("dev master key: %w", err)
	}
	for _, i := range []uint32{44 + hdkeychain.HardenedKeyStart, coin + hdkeychain.HardenedKeyStart, account + hdkeychain.HardenedKeyStart} {
		if k, err = k.Derive(i); err != nil {
			return nil, fmt.Errorf("derive dev key: %w", err)
		}
	}
	return k, nil
}
