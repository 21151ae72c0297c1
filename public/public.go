// Package public holds the checkout's committed static assets: embed.js (the script-tag
// loader merchants include), the page's stylesheet (inlined into each page by the edge) and
// its icon. The generated ones (app.wasm, wasm_exec.js) are built into public/web by
// `make wasm` and read from disk by the edge (--web-dir).
package public

import "embed"

// FS holds embed.js, web/checkout.css, web/icon.svg and web/live.js (the page's live
// updates before the wasm runs).
//
//go:embed embed.js web/checkout.css web/icon.svg web/live.js
var FS embed.FS
