GO ?= go

.PHONY: run simulate test build vet lint bench fuzz

## run: build and run the service with the embedded Redis; settings from the environment and .env, with
## development defaults (127.0.0.1:8080, a development-only secret) for what neither sets
run: build
	@. ./scripts/dev-defaults.sh && exec ./bin/oktawatch serve

## simulate: post a burst of 5 removals to the service started by `make run`; ARGS adds flags, such as ARGS="--group-id 00gOTHER"
simulate: build
	@. ./scripts/dev-defaults.sh && exec ./bin/oktawatch simulate --count 5 $(ARGS)

## test: run every test (tests that need redis-server skip without it, except under CI=true)
test:
	$(GO) test -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/oktawatch ./cmd/oktawatch

vet:
	$(GO) vet ./...


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
