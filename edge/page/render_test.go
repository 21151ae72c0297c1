package page

import (
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/net/html"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/app/widget"
)

const injection = `"><b>INJECTED</b><img src=x onerror=alert(1)>' onmouseover='alert(2)' x="`

// elements returns every element of a parsed page.
func elements(doc *html.Node) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	for _, n := range elements(doc) {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return n
			}
		}
	}
	return nil
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// An order whose every customer-controlled field carries markup renders none of it as markup:
// the served HTML, parsed as a browser would, has no injected element or attribute.
func TestPayPageNoInjection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status checkout.Status
		ret    string
	}{
		{"pending", checkout.StatusPending, "https://shop.example/r?q=" + injection},
		{"paid, return host with markup", checkout.StatusPaid, `https://x"><b>INJECTED<i>.example/r`},
		{"paid, return host with quote", checkout.StatusPaid, `https://x'onmouseover='alert(1)'.example/`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, m := testOrder(), testMerchant()
			m.ReturnHosts = nil
			o.Status, o.ReturnURL, o.Description = tc.status, tc.ret, "Order "+injection
			if tc.status == checkout.StatusPaid {
				o.AmountPaid = o.PayAmount
			}
			h := newHandler(t, Config{Dev: true, DevPayURL: "http://127.0.0.1:9/pay"}, o, m)
			ctx := get(h, "/pay/"+orderID+"?lang=en", "User-Agent", "MPChat/3")
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("status %d", ctx.Response.StatusCode())
			}
			body := string(ctx.Response.Body())
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range elements(doc) {
				if n.Data == "b" || n.Data == "i" || n.Data == "img" {
					t.Errorf("injected <%s> element in the page", n.Data)
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") || a.Key == "x" || strings.Contains(a.Key, "'") {
						t.Errorf("injected attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
					}
				}
			}
			if d := byID(doc, "description"); d == nil || textOf(d) != o.Description {
				t.Errorf("description not shown as text: %v", d)
			}
			var title string
			for _, n := range elements(doc) {
				if n.Data == "title" {
					title = textOf(n)
				}
			}
			if !strings.HasSuffix(title, " · "+o.Description) {
				t.Errorf("title %q", title)
			}
		})
	}
}

// The rendering layer on its own: a state with markup in every string the page shows or
// puts in an attribute (as a stored order from before the host rule, or a future field,
// would carry) renders none of it as markup.
func TestRenderEscapesEveryValue(t *testing.T) {
	evil := `x"><b>INJECTED</b><i>' onmouseover='alert(1)' x="`
	o, m := testOrder(), testMerchant()
	h := newHandler(t, Config{}, o, m)
	for _, status := range []checkout.Status{checkout.StatusPending, checkout.StatusPaid} {
		o.Status, o.Description, o.Address, o.DeepLink, o.Currency = status, evil, "0x"+evil, "mpchat://"+evil, "USDT"+evil
		st := widget.State{Order: o.CheckoutView(), Lang: "en", ReturnTo: "https://" + evil + ".example/r", Token: evil,
			ChainID: 1, MPChat: true, Embed: widget.EmbedModal, Origins: []string{evil}, DevPayURL: "http://" + evil,
			Now: o.CreatedAt}
		stateJSON, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		page, err := h.render(st, stateJSON)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(strings.NewReader(page))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range elements(doc) {
			if n.Data == "b" || n.Data == "i" {
				t.Errorf("%s: injected <%s>", status, n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "x" || strings.Contains(a.Key, "'") {
					t.Errorf("%s: injected attribute %s on <%s>", status, a.Key, n.Data)
				}
			}
		}
		if d := byID(doc, "description"); d == nil || textOf(d) != evil {
			t.Errorf("%s: description not shown as text", status)
		}
		if status == checkout.StatusPaid {
			link := byID(doc, "return-link")
			if link == nil {
				t.Fatalf("no return link")
			}
			for _, a := range link.Attr {
				if a.Key == "href" && a.Val != st.ReturnTo {
					t.Errorf("href %q, want %q", a.Val, st.ReturnTo)
				}
			}
		}
	}
}
