package shop

import "html/template"

const style = `<style>
:root { color-scheme: light dark; --fg:#1b1f24; --bg:#f6f7f9; --card:#fff; --accent:#0b6b4f; --muted:#5b6470 }
@media (prefers-color-scheme: dark) { :root { --fg:#e8eaed; --bg:#15181c; --card:#1f2328; --accent:#4fd1a5; --muted:#a0a8b3 } }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 }
main { max-width: 720px; margin: 0 auto; padding: 24px 16px }
.card { background: var(--card); border-radius: 12px; padding: 20px; margin: 16px 0; box-shadow: 0 1px 3px rgba(0,0,0,.12) }
button { font: inherit; padding: 10px 16px; border-radius: 8px; border: 0; background: var(--accent); color: #fff; cursor: pointer; margin: 4px 8px 4px 0 }
.muted { color: var(--muted) } code { font-size: 90% }
table { border-collapse: collapse; width: 100% } td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid rgba(127,127,127,.25) }
.ok { color: var(--accent); font-weight: 600 } .bad { color: #c62828; font-weight: 600 }
</style>`

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MP Demo Shop</title>` + style + `</head><body><main>
<h1>MP Demo Shop</h1>
<p class="muted">A merchant's web shop on its own origin. It creates the order from its server with its API key,
embeds the MP checkout, and verifies the webhooks it receives.</p>
<div class="card">
  <h2>{{.Name}}</h2>
  <p><strong>{{.Price}} USDT</strong></p>
  <form method="post" action="/buy">
    <input type="hidden" name="cart" value="{{.Cart}}">
    <button name="network" value="TRC20" id="buy-trc20">Pay with USDT · TRC20 (TRON)</button>
    <button name="network" value="ERC20" id="buy-erc20">Pay with USDT · ERC20 (Ethereum)</button>
  </form>
</div>
</main></body></html>`))

var orderPage = template.Must(template.New("order").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checkout · MP Demo Shop</title>` + style + `</head><body><main>
<h1>MP Demo Shop · checkout</h1>
<p>{{.Name}} — <strong>{{.Price}} USDT</strong> · order <code id="order-id">{{.ID}}</code></p>
<div id="pay"></div>
<script src="{{.Edge}}/embed.js" data-order-id="{{.ID}}" data-target="#pay"></script>
<div class="card">
  <h2>What the shop's server sees</h2>
  <p>Status reported by the checkout frame (a hint only, never trusted): <strong id="frame-status">—</strong></p>
  <p>Webhooks received and verified with the webhook secret:</p>
  <table><thead><tr><th>event</th><th>order status</th><th>signature</th></tr></thead><tbody id="webhooks"></tbody></table>
</div>
<script src="/shop.js" data-edge="{{.Edge}}" data-order-id="{{.ID}}"></script>
</main></body></html>`))

var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Thank you · MP Demo Shop</title>` + style + `</head><body><main>
<h1>MP Demo Shop</h1>
<div class="card">
{{if .Paid}}<h2 class="ok" id="verdict">Payment confirmed</h2>
<p>Checked with <code>GET /v1/orders/{{.Order.ID}}</code> from the shop's server: <strong id="status">{{.Order.Status}}</strong>,
{{.Order.AmountPaid}} USDT received. Your coffee is on its way.</p>
{{else}}<h2 class="bad" id="verdict">Not paid</h2>
<p>Checked with <code>GET /v1/orders/{{.Order.ID}}</code> from the shop's server: <strong id="status">{{.Order.Status}}</strong>.
The redirect alone proves nothing; the shop trusts only its server's answer and the webhooks.</p>{{end}}
</div>
<div class="card"><p>Webhooks received for this order:</p>
<table><thead><tr><th>event</th><th>order status</th><th>signature</th></tr></thead><tbody id="webhooks"></tbody></table></div>
<p><a href="/">Back to the shop</a></p>
<script src="/shop.js" data-order-id="{{.Order.ID}}"></script>
</main></body></html>`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MP Demo Shop</title>` + style + `</head><body><main>
<h1>MP Demo Shop</h1><div class="card"><p class="bad">{{.Message}}</p><p><a href="/">Back</a></p></div></main></body></html>`))

var paidPage = template.Must(template.New("paid").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev payment sent</title>` + style + `</head><body><main>
<div class="card"><h2>DEV ONLY: paid on the development chain</h2>
<p>Sent {{.Amount}} USDT on the {{.Network}} dev chain, transaction <code id="tx">{{.Tx}}</code>.
You can close this tab; the checkout follows the payment.</p></div></main></body></html>`))

// shopJS renders the webhooks the shop's server received, and the status the checkout frame
// reports (checked against the edge's origin).
const shopJS = `(function () {
  var me = document.currentScript;
  var orderID = me.getAttribute("data-order-id");
  var edge = me.getAttribute("data-edge");
  var status = document.getElementById("frame-status");
  if (edge && status) {
    window.addEventListener("message", function (e) {
      if (e.origin !== edge || !e.data || e.data.source !== "mp-checkout" || e.data.type !== "status") return;
      status.textContent = e.data.status;
    });
  }
  var table = document.getElementById("webhooks");
  function refresh() {
    fetch("/webhooks.json?order=" + encodeURIComponent(orderID)).then(function (r) { return r.json(); }).then(function (list) {
      table.textContent = "";
      list.forEach(function (w) {
        var tr = document.createElement("tr");
        tr.className = "webhook";
        [w.type || "(unreadable)", w.status || "", w.verified ? "verified ✓" : "REJECTED: " + w.error].forEach(function (t, i) {
          var td = document.createElement("td");
          td.textContent = t;
          if (i === 2) td.className = w.verified ? "ok" : "bad";
          tr.appendChild(td);
        });
        table.appendChild(tr);
      });
    }).catch(function () {});
  }
  refresh();
  setInterval(refresh, 1000);
})();
`
