# Switchboard — the two commands: `make up` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PYTHON      := $(VENV)/bin/python
BUILD_DEPS  := libhiredis-dev libpq-dev libssl-dev pkg-config
TEST_DEPS   := redis-server postgresql prometheus python3-venv
BENCH_DEPS  := wrk python3-venv

.PHONY: help up test build release deps test-deps venv swift-test python-test bench bench-gateway bench-redis bench-tools bench-learn eval clean compose-schema

help:
	@echo "make up     build (release) and run the whole suite locally"
	@echo "make test   install test dependencies and run every test"
	@echo "make bench  run the benchmarks (results in docs/benchmarks.md)"
	@echo "make eval   evaluate the learn service's models (NAB_DIR=$(NAB_DIR)); writes docs/learning.md"

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

# Runs $(1) with TMPDIR in a fresh directory (mode 1777 like /tmp: PostgreSQL runs as its own user), where the
# tests make their stacks, workspaces and logs: removed when the tests pass, kept (and named) when they fail.
define in_scratch
	scratch=$$(mktemp -d /tmp/switchboard-run.XXXXXX) && chmod 1777 $$scratch; \
	if TMPDIR=$$scratch $(1); then rm -rf $$scratch; else status=$$?; echo "test files kept in $$scratch"; exit $$status; fi
endef

# Serially: many suites start live stacks and time their probes; on two cores, parallel suites starve each other.
swift-test: test-deps venv
	swift build --build-tests
	$(call in_scratch,SWITCHBOARD_TEST_PYTHON=$(abspath $(PYTHON)) swift test --skip-build --no-parallel)

python-test: venv
	$(call in_scratch,SWITCHBOARD_BIN=$(abspath .build/debug) $(PYTHON) -m pytest -q Tests/python)

test: swift-test python-test

# The learn service's evaluation: NAB (three profiles), routing simulation, forecasting MASE, cache replay,
# pattern mining. NAB_DIR holds NAB's data/ and labels/.
NAB_DIR     ?= ../shared/nab
EVAL_CONFIG ?= release

eval: deps
	swift build -c $(EVAL_CONFIG) --product LearnEval
	.build/$(EVAL_CONFIG)/LearnEval report --nab $(NAB_DIR) --output docs/learning.md

bench: bench-gateway bench-redis bench-tools bench-learn

# Gateway benchmark: wrk on loopback against the release gateway, the tool service directly and the Python
# SDK server, BENCH_SECONDS per load point (16 points); paste its output into docs/benchmarks.md.
# BENCH_BASELINE=<dir with an earlier build's Gateway and ToolService> adds alternating rounds against it.
BENCH_SECONDS ?= 10
BENCH_BASELINE ?=
bench-gateway: deps
	$(call apt_install,$(BENCH_DEPS))
	@$(MAKE) --no-print-directory $(PYTHON)
	swift build -c release --product Gateway
	swift build -c release --product ToolService
	swift build -c release --product HTTPFloor
	$(PYTHON) bench/gateway_bench.py $(abspath .build/release) $(abspath $(PYTHON)) --seconds $(BENCH_SECONDS) \
		$(if $(BENCH_BASELINE),--baseline $(abspath $(BENCH_BASELINE)))

# Redis client vs redis-benchmark, and tools/call latency with and without the cache (docs/benchmarks.md).
bench-redis: test-deps
	swift build -c release
	@mkdir -p bench-results
	.build/release/RedisBench --bin .build/release | tee bench-results/redis.md

# Tool-service framework overhead, search_files vs ripgrep/grep, execute_command spawn latency (docs/benchmarks.md).
bench-tools: release
	$(call apt_install,ripgrep)
	@mkdir -p bench-results
	.build/release/ToolBench | tee bench-results/tools.md

# Learn service: prediction and per-event update latency in-process, memory per model, and event ingest over
# HTTP against the release LearnService for BENCH_SECONDS (docs/benchmarks.md).
bench-learn: deps
	swift build -c release --product LearnService
	swift build -c release --product LearnBench
	@mkdir -p bench-results
	BENCH_SECONDS=$(BENCH_SECONDS) .build/release/LearnBench | tee bench-results/learn.md

# The compose schema compiled into `switchboard` (a test checks the two are equal).
COMPOSE_SCHEMA_SWIFT := Sources/Supervisor/Compose/ComposeSpecSchema.swift
compose-schema:
	@{ echo '// Generated from compose/compose-spec.json by `make compose-schema`; do not edit.'; \
	  echo '// ComposeSchemaTests checks that it equals the vendored file.'; echo; \
	  echo '/// The official compose specification schema (draft-07), compiled into the binary.'; \
	  echo 'enum ComposeSpecSchema {'; echo '    static let text = ##"""'; \
	  cat compose/compose-spec.json; echo '"""##'; echo '}'; } > $(COMPOSE_SCHEMA_SWIFT)

clean:
	rm -rf .build $(VENV) .switchboard
