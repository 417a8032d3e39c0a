# Everyday commands; CI (.ci/run) runs the same checks. `make help` lists them.
PYTHON ?= python3

.PHONY: help install fmt lint test conformance bench wheel check

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## build the engine (release) and install snnrs editable with the test extras
	$(PYTHON) -m pip install -e ".[test]"

fmt:  ## rewrite what the formatters and ruff's safe fixes can (Rust and Python)
	cargo fmt --all
	ruff check --fix .

lint:  ## the house rules, as CI checks them: ruff, rustfmt, clippy (with and without the Python boundary)
	ruff check .
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --workspace --all-targets --features python -- -D warnings

test:  ## the engine's own tests, then the whole Python suite (tests/ and conformance/)
	cargo test --workspace --quiet
	$(PYTHON) -m pytest

conformance:  ## only the properties holding every fast path equal to reference/
	$(PYTHON) -m pytest conformance

bench:  ## the quick neuron benchmark (engine vs torch vs SpikingJelly when installed)
	$(PYTHON) benchmarks/neuron.py --quick

wheel:  ## a release wheel in dist/ (abi3, one per platform)
	$(PYTHON) -m pip install -q "maturin>=1.7,<2"
	maturin build --release -o dist

check: lint test  ## what to run before pushing
