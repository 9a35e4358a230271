# podsec — the front door. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
MODULE_TARGET_DIR := target/podsec-module
PODSEC := target/release/podsec
# The playground's wasm-bindgen CLI must match the wasm-bindgen crate (bindings/playground/Cargo.toml).
WASM_BINDGEN_VERSION := 0.2.130
# `make setup`'s work is done once: each step leaves a stamp, redone only when its inputs change.
STAMPS := target/stamps

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: setup
setup: $(STAMPS)/rust $(STAMPS)/wasm-opt $(STAMPS)/playground-npm ## Install the toolchain pieces the build needs (rustfmt, clippy, the wasm target, wasm-opt, the playground's npm packages), once

$(STAMPS)/rust:
	rustup component add rustfmt clippy
	rustup target add $(WASM_TARGET)
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/wasm-opt: tools/wasm-opt/package-lock.json
	cd tools/wasm-opt && npm ci --no-audit --no-fund --silent
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/playground-npm: playground/package-lock.json
	cd playground && npm ci --no-audit --no-fund --silent
	@mkdir -p $(STAMPS) && touch $@

.PHONY: wasm-bindgen
wasm-bindgen: ## Install the wasm-bindgen CLI the playground build needs (once)
	@wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)" \
		|| $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)

.PHONY: browser
browser: ## Install Debian's chromium for the browser tests (apt-get; once, outside the test targets)
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

.PHONY: need-browser
need-browser:
	@command -v chromium >/dev/null || { echo "the browser tests need Debian's chromium: run 'make browser' (apt-get) first" >&2; exit 2; }

.PHONY: module
module: setup ## Build dist/podsec.wasm (Kubewarden metadata embedded) and print its size
	$(CARGO) run --quiet --release -p module-builder -- --target-dir $(MODULE_TARGET_DIR)

.PHONY: build
build: module ## Build the policy module and the podsec binary (target/release/podsec)
	$(CARGO) build --release -p podsec

.PHONY: demo
demo: build ## Build, then check the sample manifests in fixtures/manifests
	@echo "--- podsec check fixtures/manifests (baseline, the default)"
	@$(PODSEC) check fixtures/manifests; status=$$?; [ $$status -le 1 ] || exit $$status
	@echo "--- the same at level restricted, as JSON summary"
	@$(PODSEC) check --settings-json '{"level": "restricted"}' --format json fixtures/manifests \
		> target/demo-restricted.json; status=$$?; [ $$status -le 1 ] || exit $$status
	@python3 -c 'import json,sys; print(json.load(open("target/demo-restricted.json"))["summary"])'

.PHONY: playground
playground: setup wasm-bindgen ## Build the browser playground into dist/playground (open dist/playground/index.html)
	cd playground && node build.mjs

.PHONY: playground-test
playground-test: playground need-browser ## The playground's browser tests in headless Chromium (needs Debian's chromium: make browser)
	$(CARGO) build -p podsec
	cd playground && node --test tests/

.PHONY: bench
bench: build playground need-browser ## Benchmarks: criterion latencies, check throughput, cold start, webhook load, the playground; writes docs/BENCHMARKS.md (BASELINE=old.wasm: that module against this one, interleaved; PEER=policy.wasm: another Kubewarden policy against podsec)
	$(CARGO) bench -p podsec --bench evaluate -- --noplot
	$(CARGO) run --release -p bench-report -- --dump target/playground/dump-5000.json
	cd playground && node measure.mjs
	$(if $(BASELINE),PODSEC_BASELINE_MODULE=$(abspath $(BASELINE))) $(if $(PEER),PODSEC_PEER_MODULE=$(abspath $(PEER))) $(CARGO) run --release -p bench-report

.PHONY: flood
flood: build ## podsec serve against 10,000 idle connections and a TLS handshake flood: memory per connection, evictions, a well-behaved client's latency, into target/flood.md
	$(CARGO) run --release -p podsec --example flood

.PHONY: soak
soak: build ## podsec serve under a steady load for SOAK_SECONDS (600): RSS, open fds and latency every 10 s into target/soak.md; fails if memory grows after warm-up
	$(CARGO) run --release -p podsec --example soak

FUZZ_SECONDS ?= 150
FUZZ_TARGETS := validate_bytes validate_structured settings manifests

.PHONY: fuzz
fuzz: ## Fuzz each target for FUZZ_SECONDS (150 s each, 10 min in all), then replay the corpora through the module
	rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$target; \
		if [ -d fuzz/seeds/$$target ]; then cp fuzz/seeds/$$target/* fuzz/corpus/$$target/; fi; \
		if [ $$target = manifests ]; then find fixtures -name '*.yaml' -o -name '*.json' | while read f; do cp "$$f" fuzz/corpus/manifests/seed-$$(echo $$f | tr / -); done; fi; \
		echo "--- fuzzing $$target for $(FUZZ_SECONDS) s"; \
		(cd fuzz && $(CARGO) +nightly fuzz run $$target corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1) 2>&1 | tee fuzz/$$target.log | grep -E "^#[0-9]+ +(DONE|INITED)|stat::|ERROR|panicked" ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done
	$(CARGO) run --release --example replay_corpus -p podsec -- fuzz/corpus

.PHONY: lint
lint: $(STAMPS)/rust ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p wasm-guest -p playground-engine --target $(WASM_TARGET) -- -D warnings

.PHONY: test
test: setup ## Every test: unit, fixtures, upstream's tables, PSA conformance, three runtimes, sandbox, CLI, the playground in Chromium
	$(CARGO) test --workspace
	$(MAKE) playground-test

.PHONY: clean
clean: ## Remove build output
	$(CARGO) clean
	rm -rf dist
