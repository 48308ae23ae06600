# onair — the two commands a newcomer needs: `make demo` and `make test`.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build demo cluster-demo test lint rules fuzz fuzz-long bench bench-go deps deps-test clean

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

# The same past one process: three NATS servers, an origin on :8081 and
# three edges on :8080, :8090 and :8100 (docs/cluster.md).
cluster-demo: build
	bin/onair demo --edges 3

# gofmt, vet and staticcheck, then every test (end-to-end ones drive real
# ffmpeg/ffprobe, nginx and Chromium), one package at a time: the crowd and
# attack tests measure stalls and timings, which a second package's 19,000
# listeners or botnet on the same two cores would distort.
test: deps-test lint rules
	$(GO) test -count=1 -p 1 -timeout 20m ./...

# The Prometheus alert rules: checked and unit-tested with promtool
# (TestPrometheusRules runs these too, and lints a live node's /metrics).
rules: deps-test
	cd docs/prometheus && promtool check rules onair-rules.yml && promtool test rules onair-rules.test.yml

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@unformatted=$$(gofmt -l cmd internal); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# A short run of every fuzz target (FUZZTIME=1m for longer).
FUZZTIME ?= 20s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Every fuzz target for 10 minutes each (FUZZ_ARGS="--time 1h" for longer),
# keeping the corpora they grow under testdata/fuzz to commit: a bench, not CI.
FUZZ_ARGS ?=
fuzz-long: deps
	bench/fuzz-long $(FUZZ_ARGS)

# The side-by-side ratio: the same "onair load" crowd against onair, Icecast2
# and a trivial writer, 5,000, 10,000 and 19,000 listeners, three interleaved
# runs each reported as medians (about 30 minutes; BENCH_ARGS=--quick for
# 1,000 once). Results in bench/results/. HLS behind nginx: bench/hls-cache.
BENCH_ARGS ?= --repeat 3
bench: deps
	bench/run $(BENCH_ARGS)

# Micro-benchmarks (mixer per tick, pager, tickets).
bench-go: deps
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin onair-data
