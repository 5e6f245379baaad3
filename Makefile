# vendorlink: the two README commands, and the pieces they are made of.
# Everything installs into the repository (.venv/, target/); nothing global.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: test demo cli-demo package bench-cold venv node fmt-check clippy lint-template rust-test sandbox-test sfn-test e2e-test chaos-test clean

## test: install what is needed, then fmt check, clippy and every test
test: venv node fmt-check clippy lint-template rust-test sandbox-test sfn-test e2e-test chaos-test

## demo: onboard one new account with all five vendors on the local stack
demo: venv node
	local/demo

## cli-demo: every admin CLI command against the local stack (backfill, status,
## reconcile with drift made by hand and repaired, redrive, offboard)
cli-demo: venv node
	local/cli-demo

## package: sam build of every function for arm64 (cargo-lambda, no Docker),
## each zip's size, and a failure above the budget (PACKAGE_BUDGET_BYTES, 5 MiB)
package: venv
	local/package

## bench-cold: cold start (init ms) and peak RSS of each function, release build
## for the host, against the Python boto3 peer of ../shared/perf over a local
## Runtime API on 127.0.0.1 (BENCH_RUNS, BENCH_FUNCTIONS, PERF_DIR; a
## benchmark: exits 0 whether or not the targets hold)
bench-cold: venv
	local/bench-cold

## venv: the Python tools of the local stack (moto, cargo-lambda, SAM CLI, cfn-lint), pinned
venv: $(STAMP)
$(STAMP): local/requirements.txt local/requirements-lint.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r local/requirements.txt -r local/requirements-lint.txt
	touch $(STAMP)

## node: the Step Functions runner and the ASL validator (local/sfn), from the lock file
SFN_STAMP := local/sfn/node_modules/.package-lock.json
node: $(SFN_STAMP)
$(SFN_STAMP): local/sfn/package.json local/sfn/package-lock.json
	npm ci --prefix local/sfn --no-audit --no-fund --loglevel=error

## lint-template: sam validate, cfn-lint before and after the SAM transform, asl-validator
lint-template: venv node
	local/lint-template

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

## rust-test: every Rust test. A plain `cargo test` runs the unit tests (the
## tasks against in-memory fakes) and needs no emulator; the features add the
## suites that need the local stack: `sandbox` (vendor clients against the
## Python vendor sandboxes) and `emulator` (AWS tests against a private moto
## server). The CLI's tests create many accounts and need no AWS managed
## policies, whose loading costs the emulator about a second per account:
## they get their own server.
EMULATOR_FEATURES := --features vendorlink-shared/emulator,vendorlink-shared/sandbox
rust-test: venv
	local/with-moto cargo test --workspace --locked --exclude vendorlink-cli $(EMULATOR_FEATURES)
	MOTO_IAM_LOAD_MANAGED_POLICIES=false local/with-moto cargo test --locked -p vendorlink-cli --features emulator

## sandbox-test: the vendor sandboxes against their documented contracts
sandbox-test:
	$(PYTHON) -m unittest discover -s local/sandbox

## sfn-test: the local Step Functions runner against a fake function host
sfn-test: node
	NODE_OPTIONS="--require $(CURDIR)/local/sfn/polyfill.cjs" node --test local/sfn/

## e2e-test: the real state machine on the real functions, through local/run-event
e2e-test: venv node
	local/with-moto $(VENV)/bin/python -m unittest discover -s tests/e2e -v

## chaos-test: 6 accounts onboarded under 20% random vendor faults (a third
## of them answers lost after the vendor acted) with a duplicate storm, then
## one heal pass: no duplicate at any vendor, every account active (or Data
## Theorem unverified with its instruction), no credential in any output
## (`local/bench-chaos N RATE` is the benchmark; about 30 s here)
chaos-test: venv node
	BENCH_OUT=target/chaos-test.txt local/bench-chaos 6 0.2

clean:
	rm -rf $(VENV) target
