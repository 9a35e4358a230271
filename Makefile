# podsec — the front door. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## Install the toolchain pieces the build needs (rustfmt, clippy)
	rustup component add rustfmt clippy

.PHONY: lint
lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: test
test: setup lint ## Lint, then every test (unit, fixtures, PSA conformance)
	$(CARGO) test --workspace
