# Development-only secret for `make run` and `make simulate`; never use it in production.
DEV_SECRET ?= dev-only-secret-not-for-production
GO ?= go

.PHONY: run simulate test build vet lint bench

## run: run the service on 127.0.0.1:8080 with the embedded Redis and a development secret
run:
	OKTAWATCH_OKTA_AUTH_SECRET=$${OKTAWATCH_OKTA_AUTH_SECRET:-$(DEV_SECRET)} \
	OKTAWATCH_LISTEN_ADDR=$${OKTAWATCH_LISTEN_ADDR:-127.0.0.1:8080} \
	$(GO) run ./cmd/oktawatch serve

## simulate: post a burst of 5 removals to the service started by `make run`
simulate:
	OKTAWATCH_OKTA_AUTH_SECRET=$${OKTAWATCH_OKTA_AUTH_SECRET:-$(DEV_SECRET)} \
	$(GO) run ./cmd/oktawatch simulate --count 5

## test: run every test (tests that need redis-server skip without it, except under CI=true)
test:
	$(GO) test -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/oktawatch ./cmd/oktawatch

vet:
	$(GO) vet ./...

.PHONY: fuzz

## lint: go vet and staticcheck (honnef.co/go/tools v0.8.2) over the whole module
lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# FUZZTIME is how long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s

## fuzz: run each fuzz target for FUZZTIME; a failing input is saved under the package's testdata/fuzz
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseDelivery$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/okta
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/hook

## bench: load the real binary and a bare echo handler on loopback and print throughput, latency, redis calls, alert latency and memory (about a minute on 2 cores); see BENCHMARKS.md
bench:
	$(GO) run ./bench
