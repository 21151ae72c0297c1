// Package e2e holds end-to-end tests across the edge, the watchers and the dev chains: a
// real redis-server, real simulated chains served over JSON-RPC, the real watcher scanner and
// the real edge API and settlement. It has no non-test code beyond this comment.
package e2e
