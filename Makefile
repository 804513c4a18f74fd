# Switchboard — the two commands: `make up` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PYTHON      := $(VENV)/bin/python
BUILD_DEPS  := libhiredis-dev libpq-dev libssl-dev pkg-config
TEST_DEPS   := redis-server postgresql prometheus python3-venv
BENCH_DEPS  := wrk python3-venv

.PHONY: help up test build release deps test-deps venv swift-test python-test bench bench-gateway bench-redis clean

help:
	@echo "make up     build (release) and run the whole suite locally"
	@echo "make test   install test dependencies and run every test"
	@echo "make bench  run the benchmarks (results in docs/benchmarks.md)"

# Installs missing Debian packages when root; otherwise prints the exact command and stops.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_DEPS))

test-deps: deps
	$(call apt_install,$(TEST_DEPS))

build: deps
	swift build

release: deps
	swift build -c release

up: release
	.build/release/switchboard up

venv: test-deps $(PYTHON)
$(PYTHON): Tests/python/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/python/requirements.txt
	@touch $(PYTHON)

swift-test: test-deps venv
	swift build --build-tests
	SWITCHBOARD_TEST_PYTHON=$(abspath $(PYTHON)) swift test --skip-build

python-test: venv
	SWITCHBOARD_BIN=$(abspath .build/debug) $(PYTHON) -m pytest -q Tests/python

test: swift-test python-test

bench: bench-gateway bench-redis

# Gateway benchmark: wrk on loopback against the release gateway, the tool service directly and the Python
# SDK server, BENCH_SECONDS per load point (12 points); paste its output into docs/benchmarks.md.
BENCH_SECONDS ?= 10
bench-gateway: deps
	$(call apt_install,$(BENCH_DEPS))
	@$(MAKE) --no-print-directory $(PYTHON)
	swift build -c release --product Gateway
	swift build -c release --product ToolService
	$(PYTHON) bench/gateway_bench.py $(abspath .build/release) $(abspath $(PYTHON)) --seconds $(BENCH_SECONDS)

# Redis client vs redis-benchmark, and tools/call latency with and without the cache (docs/benchmarks.md).
bench-redis: test-deps
	swift build -c release
	@mkdir -p bench-results
	.build/release/RedisBench --bin .build/release | tee bench-results/redis.md

clean:
	rm -rf .build $(VENV) .switchboard
