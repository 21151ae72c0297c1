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
