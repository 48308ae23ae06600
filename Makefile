# onair — the two commands a newcomer needs: `make demo` and `make test`.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build demo test vet fuzz bench deps deps-test clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build: deps
	$(GO) build -o bin/onair ./cmd/onair

# A server on :8080 (listeners) and 127.0.0.1:8081 (host), a synthetic
# speaker live, and the URLs to listen at.
demo: build
	bin/onair demo

# vet, then every test (end-to-end ones drive real ffmpeg/ffprobe).
test: deps-test
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# A short run of every fuzz target (FUZZTIME=1m for longer).
FUZZTIME ?= 20s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin onair-data
