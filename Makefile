# The two commands: `make run` starts a single-node cluster, `make test` runs every test.
# Both install what a fresh Debian machine lacks first (hack/setup.sh).
DATA_DIR ?= /var/lib/pilothouse
PYTEST_ARGS ?=

.PHONY: run test test-quick setup setup-test lint bench clean

run: setup
	.venv/bin/pilothouse server --data-dir $(DATA_DIR)

# Cluster traffic must never leave the machine while tests run: the egress guard drops
# anything forwarded out of the uplink (the shared tool when present, else our copy).
EGRESS_GUARD := $(firstword $(wildcard ../shared/tools/egress-guard) hack/egress-guard)

test: setup-test
	$(EGRESS_GUARD) on
	$(LINT)
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# The quick tier: everything but the long end-to-end scenarios.
test-quick: setup-test
	$(EGRESS_GUARD) on
	.venv/bin/python -m pytest -m "not slow" $(PYTEST_ARGS)

setup:
	@hack/setup.sh run

setup-test:
	@hack/setup.sh test

# Style, types and the layer contracts (.importlinter); `make test` runs them first.
define LINT
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/lint-imports
endef

lint: setup-test
	$(LINT)

bench: setup-test
	for b in bench/*.py; do .venv/bin/python $$b; done
