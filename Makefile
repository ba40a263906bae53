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
