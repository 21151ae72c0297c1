/*! MP Checkout embed loader. Plain JS, no dependencies.
 *
 *   <script src="{base}/embed.js" data-order-id="ord_…"></script>
 *     mounts the checkout in an iframe right after the script tag
 *     (data-target="#el" mounts it there; data-mode="modal" opens a modal instead;
 *      data-redirect="host" leaves the final redirect to your page; data-lang="zh").
 *   MPCheckout.mount(el, id, opts)  inline iframe in el (an element or a selector)
 *   MPCheckout.open(id, opts)       modal over the page; returns {close()}
 *   opts: {redirect: "host"|"auto", lang, onEvent(msg)}
 *
 * The checkout posts {source:"mp-checkout", type, order_id, ...} to this page (type "loaded",
 * "status", "resize", "closed"), and only when this page's origin is one of the merchant's
 * embed origins. This loader sizes the iframe to the content (growing and shrinking), closes a
 * modal on "closed" (the checkout's close button or Escape in it), Escape here or a click on
 * the backdrop (focus goes back to where it was), and on a PAID "status" carrying return_delay_ms sends the page to the return
 * URL after the checkout's visible, cancellable pause (unless redirect is "host"). Other final
 * statuses stay on the checkout: it says what happened and whom to contact. Never treat a status message or the redirect as proof of payment:
 * verify with GET /v1/orders/{id} or webhooks.
 */
(function () {
  "use strict";
  if (window.MPCheckout) return;
  var script = document.currentScript;
  var src = script && script.src ? new URL(script.src, location.href) : null;
  if (!src) return;
  var origin = src.origin;
  var base = src.href.replace(/\/embed\.js(?:[?#].*)?$/, "");
  var frames = [];

  function payURL(id, mode, opts) {
    var q = "?embed=" + mode;
    if (opts.redirect === "host") q += "&redirect=host";
    if (opts.lang) q += "&lang=" + encodeURIComponent(opts.lang);
    return base + "/pay/" + encodeURIComponent(id) + q;
  }

  function frame(id, mode, opts) {
    var f = document.createElement("iframe");
    f.src = payURL(id, mode, opts);
    f.title = opts.title || "USDT checkout";
    f.setAttribute("allow", "clipboard-write");
    f.style.cssText = "display:block;width:100%;border:0;height:" + (opts.height || 640) + "px";
    return f;
  }

  function track(f, id, opts, onClosed) {
    var h = { frame: f, id: id, opts: opts, closed: onClosed, timer: 0 };
    frames.push(h);
    return h;
  }

  function untrack(h) {
    clearTimeout(h.timer);
    frames = frames.filter(function (x) { return x !== h; });
  }

  function mount(el, id, opts) {
    opts = opts || {};
    if (typeof el === "string") el = document.querySelector(el);
    if (!el || !id) throw new Error("MPCheckout.mount(element, orderId)");
    var f = frame(id, "inline", opts);
    el.appendChild(f);
    var h = track(f, id, opts, null);
    return { frame: f, remove: function () { untrack(h); f.remove(); } };
  }

  function open(id, opts) {
    opts = opts || {};
    if (!id) throw new Error("MPCheckout.open(orderId)");
    var back = document.createElement("div");
    back.setAttribute("data-mp-checkout", "modal");
    back.style.cssText = "position:fixed;inset:0;z-index:2147483000;background:rgba(0,0,0,.55);display:flex;align-items:flex-start;justify-content:center;overflow:auto;padding:2vh 0";
    var box = document.createElement("div");
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", opts.title || "USDT checkout");
    box.style.cssText = "width:100%;max-width:30rem;background:transparent";
    var f = frame(id, "modal", opts);
    box.appendChild(f);
    back.appendChild(box);
    var prevFocus = document.activeElement;
    var h;
    function close(fromCheckout) {
      if (!back.parentNode) return;
      untrack(h);
      back.remove();
      document.removeEventListener("keydown", onKey);
      if (prevFocus && prevFocus.focus) prevFocus.focus();
      if (!fromCheckout) emit(h, { source: "mp-checkout", type: "closed", order_id: id });
    }
    function onKey(e) { if (e.key === "Escape") close(false); }
    back.addEventListener("click", function (e) { if (e.target === back) close(false); });
    document.addEventListener("keydown", onKey);
    h = track(f, id, opts, function () { close(true); });
    document.body.appendChild(back);
    f.focus();
    return { frame: f, close: function () { close(false); } };
  }

  function emit(h, msg) {
    if (h.opts.onEvent) {
      try { h.opts.onEvent(msg); } catch (e) { setTimeout(function () { throw e; }); }
    }
  }

  window.addEventListener("message", function (e) {
    if (e.origin !== origin) return;
    var d = e.data;
    if (!d || typeof d !== "object" || d.source !== "mp-checkout") return;
    var h = null;
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].frame.contentWindow === e.source) h = frames[i];
    }
    if (!h) return;
    if (d.type === "resize" && d.height > 0) {
      h.frame.style.height = Math.min(Math.ceil(d.height), 10000) + "px";
    } else if (d.type === "closed" && h.closed) {
      h.closed();
    } else if (d.type === "status") {
      clearTimeout(h.timer); // a later status without a delay: the customer chose to stay
      if (d.status === "PAID" && typeof d.return_delay_ms === "number" && h.opts.redirect !== "host" &&
        typeof d.return_url === "string" && /^https?:\/\//i.test(d.return_url)) {
        h.timer = setTimeout(function () { location.assign(d.return_url); }, Math.max(0, d.return_delay_ms));
      }
    }
    emit(h, d);
  });

  window.MPCheckout = { mount: mount, open: open, version: 1 };

  var id = script.getAttribute("data-order-id");
  function auto() {
    var opts = { redirect: script.getAttribute("data-redirect") || "auto", lang: script.getAttribute("data-lang") || "" };
    if (script.getAttribute("data-mode") === "modal") {
      open(id, opts);
    } else {
      var target = script.getAttribute("data-target");
      var el = target ? document.querySelector(target) : null;
      if (!el) {
        el = document.createElement("div");
        script.parentNode.insertBefore(el, script.nextSibling);
      }
      mount(el, id, opts);
    }
  }
  if (id) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", auto);
    else auto();
  }
})();
