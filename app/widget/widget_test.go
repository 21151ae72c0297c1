package widget

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"rsc.io/qr"

	checkout "github.com/mpchat/checkout"
)

func TestPayURI(t *testing.T) {
	if got := PayURI(checkout.ERC20, "0xAbC", 1_500_000, "0xdAC17F958D2ee523a2206206994597C13D831ec7", 1); got !=
		"ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0xAbC&uint256=1500000" {
		t.Errorf("ERC20: %s", got)
	}
	if got := PayURI(checkout.TRC20, "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", 1, "", 0); got != "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE" {
		t.Errorf("TRC20: %s", got)
	}
}

func TestReturnTo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://acme.com/payment/return", "https://acme.com/payment/return?order_id=ord_1"},
		{"https://acme.com/r?cart=7&x=a+b", "https://acme.com/r?cart=7&order_id=ord_1&x=a+b"},
		{"https://acme.com/r?order_id=forged", "https://acme.com/r?order_id=ord_1"},
		{"javascript:alert(1)", ""},
		{"/relative", ""},
	} {
		if got := ReturnTo(tc.in, "ord_1"); got != tc.want {
			t.Errorf("ReturnTo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPickLang(t *testing.T) {
	for _, tc := range []struct{ override, accept, want string }{
		{"", "", "en"},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", "zh"},
		{"", "fr-FR, zh-TW;q=0.5", "fr"},
		{"", "sw-KE, zh-TW;q=0.5", "zh"},
		{"", "de, fr", "de"},
		{"", "sw, tlh", "en"},
		{"", "pt-PT", "pt-BR"},
		{"", "ar-EG", "ar"},
		{"pt-br", "", "pt-BR"},
		{"en", "zh-CN", "en"},
		{"ZH", "en", "zh"},
		{"xx", "zh", "zh"},
	} {
		if got := PickLang(tc.override, tc.accept); got != tc.want {
			t.Errorf("PickLang(%q, %q) = %q, want %q", tc.override, tc.accept, got, tc.want)
		}
	}
}

func TestQRSVG(t *testing.T) {
	a, err := qrSVG("ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x52908400098527886E0F7030069857D2E4169EE7&uint256=99990000", "label")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := qrSVG("ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x52908400098527886E0F7030069857D2E4169EE7&uint256=99990000", "label")
	if a != b || !strings.HasPrefix(a, "<svg") || len(a) > 12_000 {
		t.Errorf("QR SVG: deterministic %v, %d bytes", a == b, len(a))
	}
}

// TestRenderStatuses renders the checkout as the edge does, for each status, and checks the
// words that tell the customer what to do next.
func TestRenderStatuses(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	base := checkout.CheckoutView{ID: "ord_1", Amount: 100_000_000, PayAmount: 100_000_000, Currency: "USDT",
		Network: checkout.TRC20, Address: "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", DeepLink: "mpchat://pay?order=ord_1",
		CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute), ReturnURL: "https://shop.example/r"}
	for _, tc := range []struct {
		name   string
		edit   func(v *checkout.CheckoutView)
		lang   string
		want   []string
		absent []string
	}{
		{"pending", func(v *checkout.CheckoutView) {}, "en",
			[]string{"Waiting for your payment", "Send exactly 100 USDT on TRC20 · TRON", "29:00", base.Address, `role="timer"`, `aria-live="polite"`},
			[]string{"return-link", "data-client"}},
		{"partial", func(v *checkout.CheckoutView) { v.AmountPaid = 40_000_000 }, "en",
			[]string{"Received 40 of 100 USDT", "remaining 60 USDT", `>60</span>`}, nil},
		{"confirming", func(v *checkout.CheckoutView) {
			v.Status = checkout.StatusConfirming
			v.AmountPending = v.PayAmount
			v.Payments = []checkout.CheckoutPayment{{Amount: v.PayAmount, Confirmations: 2, ConfirmationsRequired: 19, Status: checkout.PaymentConfirming}}
		}, "en", []string{"Payment seen, confirming", "2 of 19 confirmations", "do not send again"}, []string{base.Address, "qr-svg"}},
		{"confirming short of the amount", func(v *checkout.CheckoutView) {
			v.Status, v.AmountPending = checkout.StatusConfirming, 30_000_000
			v.Payments = []checkout.CheckoutPayment{{Amount: 30_000_000, Confirmations: 1, ConfirmationsRequired: 19, Status: checkout.PaymentConfirming}}
		}, "en", []string{"1 of 19 confirmations", base.Address, "qr-svg", "30 of 100 USDT is on chain", "70 USDT is still missing", `>70</span>`}, nil},
		{"paid", func(v *checkout.CheckoutView) { v.Status, v.AmountPaid = checkout.StatusPaid, v.PayAmount }, "en",
			[]string{"Payment received", "return-link", `href="https://shop.example/r?order_id=ord_1"`},
			[]string{base.Address, "countdown"}},
		{"underpaid", func(v *checkout.CheckoutView) { v.Status, v.AmountPaid = checkout.StatusUnderpaid, 50_000_000 }, "en",
			[]string{"Payment incomplete", "received 50 of 100 USDT", "Do not send more"}, []string{base.Address}},
		{"expired", func(v *checkout.CheckoutView) { v.Status = checkout.StatusExpired }, "en",
			[]string{"Order expired", "Do not send funds to this address"}, nil},
		{"frozen", func(v *checkout.CheckoutView) { v.Status = checkout.StatusFrozen }, "en",
			[]string{"Payment under review", "Do not send again"}, nil},
		{"canceled", func(v *checkout.CheckoutView) { v.Status = checkout.StatusCanceled }, "en",
			[]string{"Order canceled", "merchant canceled this order", "Do not send funds to this address"},
			[]string{base.Address, "countdown", "returning"}},
		{"pending zh", func(v *checkout.CheckoutView) {}, "zh", []string{"等待付款", "TRC20 · 波场 TRON", `lang="zh"`}, nil},
		{"paid late after expiry", func(v *checkout.CheckoutView) {
			v.Status, v.AmountPaid, v.AmountLate = checkout.StatusExpired, v.PayAmount, v.PayAmount
			v.Payments = []checkout.CheckoutPayment{{TxHash: "0xabc", Amount: v.PayAmount, Status: checkout.PaymentConfirmed, Late: true}}
		}, "en", []string{"Your payment arrived late", "received 100 USDT after the order expired", "merchant has been told", "status-late", "0xabc"},
			[]string{"No payment arrived", "Do not send funds to this address", base.Address, "returning"}},
		{"underpaid then late funds", func(v *checkout.CheckoutView) {
			v.Status, v.AmountPaid, v.AmountLate = checkout.StatusUnderpaid, 80_000_000, 30_000_000
		}, "en", []string{"received 50 of 100 USDT", "50 USDT is missing", "received 30 USDT after the order expired"}, nil},
		{"overpaid", func(v *checkout.CheckoutView) {
			v.Status, v.AmountPaid, v.AmountOverpaid = checkout.StatusPaid, 125_000_000, 25_000_000
			paid := now.Add(5 * time.Minute)
			v.PaidAt = &paid
			v.Payments = []checkout.CheckoutPayment{{TxHash: "0xdef", Amount: 125_000_000, Status: checkout.PaymentConfirmed}}
		}, "en", []string{"You sent 25 USDT more than the amount due", "receipt", "125 USDT", "Nov 24, 2026, 10:05 AM UTC", "0xdef", "copy-order-id"}, nil},
		{"frozen names the amount", func(v *checkout.CheckoutView) { v.Status, v.AmountPaid = checkout.StatusFrozen, v.PayAmount }, "en",
			[]string{"Your payment of 100 USDT arrived and is held for review"}, []string{base.Address}},
		{"underpaid while open: top-up", func(v *checkout.CheckoutView) { v.AmountPaid = 40_000_000 }, "en",
			[]string{"Amount still to send", `>60</span>`, base.Address}, nil},
		{"merchant and support", func(v *checkout.CheckoutView) {
			v.Merchant = &checkout.CheckoutMerchant{Name: "Acme & Co", SupportEmail: "help@acme.example", SupportURL: "https://acme.example/help"}
		}, "en", []string{"Acme &amp; Co", `href="mailto:help@acme.example?subject=ord_1"`, `href="https://acme.example/help"`, ">ord_1<"}, []string{"Contact the shop where"}},
		{"arabic is right to left", func(v *checkout.CheckoutView) {}, "ar", []string{`dir="rtl"`, `lang="ar"`}, nil},
		{"german amounts", func(v *checkout.CheckoutView) { v.PayAmount = 1_234_500_000 }, "de", []string{`>1.234,5</span>`}, nil},
		{"shared address: exact amount and the claim form", func(v *checkout.CheckoutView) {
			v.ReceiveMode, v.PayAmount = checkout.ReceiveAddresses, 100_000_003
		}, "en", []string{`id="exact-amount"`, "Send exactly 100.000003 USDT, to the last digit", `id="claim-form"`, `id="claim-tx"`}, nil},
		{"shared address, expired: claim still offered (late payments)", func(v *checkout.CheckoutView) {
			v.ReceiveMode, v.Status = checkout.ReceiveAddresses, checkout.StatusExpired
		}, "en", []string{`id="claim-form"`}, []string{`id="exact-amount"`}},
		{"shared address, paid: nothing left to claim", func(v *checkout.CheckoutView) {
			v.ReceiveMode, v.Status, v.AmountPaid = checkout.ReceiveAddresses, checkout.StatusPaid, v.PayAmount
		}, "en", nil, []string{`id="claim-form"`, `id="exact-amount"`}},
		{"own address: no notice, no claim", func(v *checkout.CheckoutView) {}, "en", nil,
			[]string{`id="claim-form"`, `id="exact-amount"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := base
			tc.edit(&v)
			st := State{Order: v, Lang: tc.lang, Now: now.Add(time.Minute), ReturnTo: ReturnTo(v.ReturnURL, v.ID),
				Explorers: map[checkout.Network]string{checkout.TRC20: "https://tronscan.org/#/transaction/{tx}"}}
			html := app.HTMLString(&Checkout{State: st})
			for _, w := range tc.want {
				if !strings.Contains(html, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(html, a) {
					t.Errorf("has %q", a)
				}
			}
		})
	}
}

// TestEncodeQRMatchesLibrary: encodeQR is rsc.io/qr's Encode minus its image support; the
// modules must be identical.
func TestEncodeQRMatchesLibrary(t *testing.T) {
	for _, text := range []string{"TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "12345", "HELLO WORLD",
		"ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x52908400098527886E0F7030069857D2E4169EE7&uint256=99990000"} {
		ours, err := encodeQR(text)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := qr.Encode(text, qr.M)
		if err != nil {
			t.Fatal(err)
		}
		if ours.Size != ref.Size || !bytes.Equal(ours.Bitmap, ref.Bitmap) {
			t.Errorf("%q: modules differ from rsc.io/qr", text)
		}
	}
}

// TestEveryLocaleComplete fails when a locale lacks any text, or carries a key that is not one.
func TestEveryLocaleComplete(t *testing.T) {
	if len(Locales) < 10 {
		t.Errorf("%d locales, want at least 10", len(Locales))
	}
	for _, l := range Locales {
		m, ok := texts[l.Code]
		if !ok {
			t.Errorf("%s: no texts", l.Code)
			continue
		}
		for k := msg(0); k < numMsgs; k++ {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s: key %d (English %q) has no translation", l.Code, k, texts["en"][k])
			}
			// The same verbs as English: a translation cannot drop or add an amount.
			if strings.Count(m[k], "%") != strings.Count(texts["en"][k], "%") {
				t.Errorf("%s: key %d has other format verbs than English: %q", l.Code, k, m[k])
			}
		}
		if len(m) != int(numMsgs) {
			t.Errorf("%s: %d texts, want %d", l.Code, len(m), numMsgs)
		}
	}
	if len(texts) != len(Locales) {
		t.Errorf("%d locales have texts, %d are listed", len(texts), len(Locales))
	}
}

func TestFmtAmount(t *testing.T) {
	for _, tc := range []struct {
		lang string
		a    checkout.Amount
		want string
	}{
		{"en", 1_234_567_500_000, "1,234,567.5"}, {"de", 1_234_500_000, "1.234,5"}, {"fr", 1_234_500_000, "1\u202f234,5"},
		{"en", 12_500_000, "12.5"}, {"ru", 999_000_000, "999"}, {"xx", 1_000_000_000, "1,000"},
	} {
		if got := fmtAmount(tc.lang, tc.a); got != tc.want {
			t.Errorf("fmtAmount(%s, %d) = %q, want %q", tc.lang, tc.a, got, tc.want)
		}
	}
}
