package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
)

// numbersOrders gives merchant m a week of orders through the store's create, commit and
// index steps (the ones edge/orders runs): on day i (0 = six days ago), i+2 orders, most of
// them PAID after a few minutes with a webhook delivered (some on a second attempt), the rest
// expired, canceled or still pending. It returns the paid volume.
func numbersOrders(t *testing.T, st *store.Store, m *checkout.Merchant) checkout.Amount {
	t.Helper()
	ctx := context.Background()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var volume checkout.Amount
	for day := range 7 {
		for j := range day + 2 {
			created := today.AddDate(0, 0, day-6).Add(time.Duration(9+j) * time.Hour)
			if created.After(time.Now()) {
				created = time.Now().UTC().Add(-time.Duration(j+1) * time.Minute)
			}
			amount := checkout.Amount(5+3*j+day) * checkout.Unit
			o := &checkout.Order{ID: ids.Order(), Status: checkout.StatusPending, Network: checkout.Networks[j%2], Address: "0xe2e" + ids.Event(),
				Amount: amount, PayAmount: amount, Currency: "USDT", CreatedAt: created, ExpiresAt: created.Add(time.Hour), Metadata: map[string]string{}}
			ev := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: created, Order: *o}
			if _, _, err := st.CreateOrder(ctx, o, m.ID, &ev); err != nil {
				t.Fatal(err)
			}
			status := []checkout.Status{checkout.StatusPaid, checkout.StatusPaid, checkout.StatusExpired, checkout.StatusPaid,
				checkout.StatusCanceled, checkout.StatusPaid, checkout.StatusPending, checkout.StatusPaid}[j%8]
			if status == checkout.StatusPending {
				continue
			}
			rec, err := st.Order(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			rec.Order.Status = status
			var events []checkout.Event
			if status == checkout.StatusPaid {
				at := created.Add(time.Duration(40+70*j) * time.Second)
				rec.Order.PaidAt, rec.Order.AmountPaid = &at, amount
				volume += amount
				events = append(events, checkout.Event{ID: ids.Event(), Type: checkout.EventPaymentConfirmed, CreatedAt: at, Order: rec.Order})
			}
			if _, err := st.CommitOrder(ctx, rec, events); err != nil {
				t.Fatal(err)
			}
			if err := st.IndexOrder(ctx, m.ID, &rec.Order, rec.Version); err != nil {
				t.Fatal(err)
			}
			if status == checkout.StatusPaid {
				_, pend, err := st.PendingWebhooks(ctx, o.ID)
				if err != nil || len(pend) != 1 {
					t.Fatalf("webhook of %s: %v %v", o.ID, pend, err)
				}
				d := &pend[0]
				for try := 0; try <= j%3/2; try++ { // every third order needs a second attempt
					d.Attempts++
					a := &checkout.WebhookAttempt{At: rec.Order.PaidAt.Add(time.Duration(try) * time.Minute), StatusCode: 503, Error: "HTTP 503"}
					if try == j%3/2 {
						a.StatusCode, a.Error = 200, ""
						d.Status, d.DeliveredAt = checkout.DeliveryDelivered, &a.At
					}
					if err := st.SaveDelivery(ctx, o.ID, d, a); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	return volume
}

// TestDashboardNumbers drives the numbers page and the operator view in Chromium: a
// merchant's user sees its week of figures (charts with their tables), picks another range
// with the keyboard, and is refused the operator view; an operator sees every merchant and the
// watchers. Screenshots of both pages at 1280 and 360 px (light, and dark at 360) go to
// artifacts/.
func TestDashboardNumbers(t *testing.T) {
	base, svc, m := dashboardEdge(t)
	st := svc.Store
	ctx := context.Background()
	volume := numbersOrders(t, st, m)
	other := &checkout.Merchant{ID: ids.Merchant(), Name: "Bolt Coffee", XPubs: map[checkout.Network]string{}, CreatedAt: time.Now()}
	if err := st.CreateMerchant(ctx, other, &checkout.APIKey{ID: ids.Key(), MerchantID: other.ID, Secret: "sk2"}, nil); err != nil {
		t.Fatal(err)
	}
	const pw = "numbers all the way down"
	for _, p := range []users.CreateParams{{Email: "ops@acme.example", MerchantID: m.ID}, {Email: "root@ops.example", Operator: true}} {
		c, err := svc.CreateUser(ctx, p, users.OperatorActor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetPassword(ctx, c.Token, pw, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
	}

	tab := newTab(t, newBrowser(t))
	shot := func(name string, width int64) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 800)); err != nil {
			t.Fatal(err)
		}
		if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
			t.Errorf("%s: page is %d px wide on a %d px screen", name, wide, width)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, fmt.Sprintf("dashboard-%s-%d.png", name, width), png)
	}
	scheme := func(value string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}}})
			return err
		})
	}
	signIn := func(email string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Navigate(base+"/dashboard/login"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", pw+"\r")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "signed in", `location.pathname === '/dashboard'`, 10*time.Second)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}

	signIn("ops@acme.example")
	if err := chromedp.Do(tab, scheme("light"), chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/dashboard/numbers"), chromedp.WaitVisible("#volume svg")); err != nil {
		t.Fatal(err)
	}
	if s := text("#volume-s"); !strings.HasPrefix(s, volume.String()+" USDT paid in ") {
		t.Fatalf("volume summary %q, want %s USDT", s, volume)
	}
	if s := text("#status-s"); !strings.HasPrefix(s, "35 orders created in this range") {
		t.Fatalf("status summary %q", s)
	}
	if s := text("#ttp-s"); !strings.HasPrefix(s, "Median about ") {
		t.Fatalf("median %q", s)
	}
	if s := text("#webhooks-s"); !strings.Contains(s, "webhook attempts were answered 2xx") {
		t.Fatalf("webhooks %q", s)
	}
	// Each chart's drawing is labelled by its summary; its table opens from the keyboard.
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`[...document.querySelectorAll('.chart svg[role=img]')].filter(s => document.getElementById(s.getAttribute('aria-labelledby'))).length`)); n != 4 {
		t.Fatalf("%d labelled charts, want 4", n)
	}
	if err := chromedp.Do(tab, chromedp.Focus("#volume summary"), chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "the volume table open", `document.querySelector('#volume details').open && document.querySelector('#volume table').offsetHeight > 0`, 5*time.Second)
	if err := chromedp.Do(tab, chromedp.Focus("#volume summary"), chromedp.KeyEvent(" ")); err != nil {
		t.Fatal(err)
	}
	shot("numbers", 1280)
	shot("numbers", 360)
	if err := chromedp.Do(tab, scheme("dark")); err != nil {
		t.Fatal(err)
	}
	shot("numbers-dark", 360)
	if err := chromedp.Do(tab, scheme("light")); err != nil {
		t.Fatal(err)
	}

	// Another range: 30 days in the select, submitted from the keyboard (Enter on Show).
	if err := chromedp.Do(tab, chromedp.SetValue("#range", "30"), chromedp.Focus(".numbers-form button"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "30 days", `location.search.includes('range=30')`, 10*time.Second)
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#volume tbody tr').length`)); n != 30 {
		t.Fatalf("30-day range shows %d days", n)
	}

	// The operator view is not in this user's navigation (its 404 is TestNumbersMatchOrders's,
	// in edge/dashboard).
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href^="/dashboard/operator"]').length`)); n != 0 {
		t.Fatal("a merchant's user is offered the operator view")
	}

	// The operator: every merchant, open orders, watchers; and a merchant's numbers.
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible("#signout"), chromedp.Focus("#signout"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "signed out", `location.pathname === '/dashboard/login'`, 10*time.Second)
	signIn("root@ops.example")
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/dashboard/operator"), chromedp.WaitVisible("#merchants table")); err != nil {
		t.Fatal(err)
	}
	if s := text("#merchants"); !strings.Contains(s, m.Name) || !strings.Contains(s, other.Name) || !strings.Contains(s, m.ID) {
		t.Fatalf("operator's merchants: %q", s)
	}
	if s := text("#watchers"); !strings.Contains(s, "ERC20") || !strings.Contains(s, "TRC20") {
		t.Fatalf("operator's watchers: %q", s)
	}
	shot("operator", 1280)
	shot("operator", 360)
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/dashboard/numbers?merchant="+m.ID), chromedp.WaitVisible("#volume svg")); err != nil {
		t.Fatal(err)
	}
	if s := text("#volume-s"); !strings.HasPrefix(s, volume.String()+" USDT") {
		t.Fatalf("operator's view of the merchant's volume: %q", s)
	}
}
