package deposit

import (
	"encoding/hex"
	"testing"

	checkout "github.com/mpchat/checkout"
)

func TestDevAccountsMatchPublishedAddresses(t *testing.T) {
	x, err := DevAccountXPub(checkout.ERC20, 0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseAccountXPub(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"} {
		got, path, err := k.Address(checkout.ERC20, uint32(i))
		if err != nil || got != want {
			t.Errorf("index %d: %s %v, want %s", i, got, err, want)
		}
		if want := "m/44'/60'/0'/0/" + string(rune('0'+i)); path != want {
			t.Errorf("path %s, want %s", path, want)
		}
	}
}

func TestTRONUSDTContract(t *testing.T) {
	raw, _ := hex.DecodeString("a614f803b6fd780986a42c78ec9c7f77e6ded13c")
	var a [20]byte
	copy(a[:], raw)
	if got := EncodeTRON(a); got != "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" {
		t.Errorf("EncodeTRON = %s", got)
	}
	back, err := ParseTRON("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	if err != nil || back != a {
		t.Errorf("ParseTRON = %x %v", back, err)
	}
}

// TestChildPointMatchesHDKeychain: the direct CKDpub path gives exactly hdkeychain's keys.
func TestChildPointMatchesHDKeychain(t *testing.T) {
	for _, n := range []checkout.Network{checkout.ERC20, checkout.TRC20} {
		x, err := DevAccountXPub(n, 3)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParseAccountXPub(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint32(0); i < 300; i += 7 {
			child, err := k.external.Derive(i)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := child.ECPubKey()
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.childPoint(i)
			if err != nil {
				t.Fatal(err)
			}
			if want := pub.SerializeUncompressed()[1:]; string(got) != string(want) {
				t.Fatalf("%s index %d: %x, want %x", n, i, got, want)
			}
		}
	}
}

func BenchmarkAddress(b *testing.B) {
	x, _ := DevAccountXPub(checkout.TRC20, 1)
	k, _ := ParseAccountXPub(x)
	b.Run("direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := k.Address(checkout.TRC20, uint32(i%1_000_000)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hdkeychain", func(b *testing.B) { // the baseline the direct path replaces
		for i := 0; i < b.N; i++ {
			c, err := k.external.Derive(uint32(i % 1_000_000))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.ECPubKey(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestEIP55Vectors(t *testing.T) {
	// From the EIP-55 specification, plus mainnet USDT.
	for _, want := range []string{
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
		"0xdAC17F958D2ee523a2206206994597C13D831ec7",
	} {
		a, err := ParseEVM(want)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		if got := EncodeEVM(a); got != want {
			t.Errorf("EncodeEVM = %s, want %s", got, want)
		}
	}
}

func TestAddressParsersRefuse(t *testing.T) {
	bad := map[checkout.Network][]string{
		checkout.ERC20: {"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", // bad checksum
			"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"},
		checkout.TRC20: {"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", // bad checksum
			"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c", ""},
	}
	for n, list := range bad {
		for _, s := range list {
			if _, err := Parse(n, s); err == nil {
				t.Errorf("%s accepted %q", n, s)
			}
		}
	}
	// All-lowercase and all-uppercase hex are accepted (no checksum to check).
	for _, s := range []string{"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"} {
		if _, err := ParseEVM(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestParseAccountXPubRefuses(t *testing.T) {
	// BIP32 test vector 1: the m/0H/1/2H xpub (depth 3, hardened) parses; master keys do not.
	ok := "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5"
	if _, err := ParseAccountXPub(ok); err != nil {
		t.Errorf("vector 1 m/0H/1/2H: %v", err)
	}
	for name, s := range map[string]string{
		"master xpub":  "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
		"master xprv":  "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
		"depth 3 xprv": "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM",
		"garbage":      "xpub123",
		"empty":        "",
	} {
		if _, err := ParseAccountXPub(s); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func FuzzParseTRON(f *testing.F) {
	f.Add("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	f.Add("T")
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := ParseTRON(s); err == nil && EncodeTRON(a) != s {
			t.Fatalf("%q parsed but re-encodes as %q", s, EncodeTRON(a))
		}
	})
}

func FuzzParseEVM(f *testing.F) {
	f.Add("0xdAC17F958D2ee523a2206206994597C13D831ec7")
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := ParseEVM(s); err == nil {
			if back, err := ParseEVM(EncodeEVM(a)); err != nil || back != a {
				t.Fatalf("%q: round trip failed", s)
			}
		}
	})
}
