# The two commands a newcomer needs (see README.md):
#   make run    build the web client and run Parley with embedded defaults and a demo clinic
#   make test   install/start what the tests need, then run every test

GO ?= go
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: run test build web prepare-tests bench fuzz

run: web
	$(GO) run ./cmd/parley serve --demo

build: web
	$(GO) build -o bin/parley ./cmd/parley

web:
	npm --prefix web ci --no-audit --no-fund
	npm --prefix web run build

prepare-tests:
	scripts/prepare-tests.sh

test: prepare-tests
	npm --prefix web test
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

# Each fuzzer for a short while; FUZZTIME=5m for a longer run.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done
