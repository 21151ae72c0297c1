# MP Checkout — the front door. `make demo` runs the product locally; `make test` runs every test.
GO      ?= go
PKGS    := ./...
# An execution count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" when a duration runs out (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 300000x

.PHONY: demo test test-unit fuzz vet bench build token clean wasm

wasm: ## the checkout's browser assets: public/web/app.wasm (-trimpath -ldflags="-s -w"), the toolchain's wasm_exec.js, .gz/.br copies
	$(GO) run ./internal/webbuild/cmd/webbuild -o public/web

# Built, then exec'd rather than `go run`: on Ctrl-C `go run` exits 1 even when the demo exits 0.
demo: wasm ## run everything locally (Redis on its own port, dev chains, watchers, edge) and print a URL; other ports: DEMO_FLAGS='--edge 127.0.0.1:8090 …'
	@mkdir -p .demo/bin
	$(GO) build -o .demo/bin/demo ./demo
	exec .demo/bin/demo $(DEMO_FLAGS)

test: wasm vet test-unit fuzz ## every test: vet, unit/integration/browser tests, short fuzz runs

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

test-unit:
	$(GO) test -race -count=1 -timeout 14m $(PKGS)

fuzz: ## brief fuzzing of the parsers that face the internet
	$(GO) test -run '^$$' -fuzz '^FuzzParseAmount$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzParseTolerance$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzParseHeader$$' -fuzztime $(FUZZTIME) ./edge/auth
	$(GO) test -run '^$$' -fuzz '^FuzzParseCreate$$' -fuzztime $(FUZZTIME) ./edge/orders
	$(GO) test -run '^$$' -fuzz '^FuzzParseTRON$$' -fuzztime $(FUZZTIME) ./deposit
	$(GO) test -run '^$$' -fuzz '^FuzzParseEVM$$' -fuzztime $(FUZZTIME) ./deposit

token: ## regenerate the dev token ABI and bytecode (needs node and npm)
	watcher/devchain/token/gen.sh

bench: ## benchmarks; figures go to bench/README.md
	$(GO) run ./bench/api
	$(GO) run ./bench/load
	$(GO) run ./bench/nodeproxy
	$(GO) run ./bench/chain
	$(GO) run ./bench/widget
	$(GO) run ./bench/webhook
	$(GO) run ./bench/memory
	$(GO) run ./bench/export
	$(GO) run ./bench/orderlist

build:
	$(GO) build -o bin/ ./edge ./watcher

clean:
	rm -rf bin .demo public/web/app.wasm* public/web/wasm_exec.js*
