# ehrchain: every check runs from here. `make test` is what CI runs (.ci/run);
# it installs what it needs itself (rustup components and targets, nightly for
# cargo-fuzz, cargo-fuzz at a pinned version).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test setup fmt-check clippy unit wasm-core wasm web interop fuzz-smoke bench bench-js vectors contracts contracts-check gas ganache-e2e

## Every test: formatting, lints, unit/integration/doc tests, the wasm build of
## the core, the interop tests and a short fuzz run of every target.
test: setup fmt-check clippy contracts-check unit ganache-e2e wasm-core wasm web interop fuzz-smoke
	@echo "make test: all checks passed"

## Toolchain pieces the checks need.
setup:
	rustup component add rustfmt clippy
	rustup target add wasm32-unknown-unknown
	@command -v node >/dev/null || { echo "node (>= 20) is required for the interop tests"; exit 1; }

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

## The core must build for wasm32-unknown-unknown, so it can never grow I/O.
wasm-core:
	$(CARGO) build -p ehrchain-core --target wasm32-unknown-unknown --locked

## The npm package: builds ehrchain-wasm/pkg/ (scripts/wasm-pack.sh: the
## pinned wasm-bindgen-cli, ESM for Node and browsers, .d.ts) and runs the
## Node tests against that built package on Ganache's in-process provider
## (pinned in ehrchain-wasm/tests/package.json).
wasm:
	bash scripts/wasm-pack.sh
	npm ci --prefix ehrchain-wasm/tests --no-audit --no-fund --ignore-scripts
	cd ehrchain-wasm/tests && node --test *.test.mjs

## The web portal (examples/web/) in headless Chromium (Debian's chromium,
## installed if missing) with playwright-core and an EIP-1193 provider backed
## by Ganache's browser build; saves target/web-portal.png. Needs `make wasm`.
web:
	bash scripts/web-portal-test.sh

## Other implementations agree with ours: node:crypto opens our envelopes
## following only docs/envelope.md, and OpenZeppelin's merkle-tree (pinned in
## ehrchain-core/tests/interop/package.json) verifies every proof vector.
interop:
	node ehrchain-core/tests/interop/open_envelopes.mjs
	npm ci --prefix ehrchain-core/tests/interop --no-audit --no-fund
	node ehrchain-core/tests/interop/verify_proofs.mjs

fuzz-smoke:
	bash scripts/fuzz-smoke.sh

## The end-to-end suite through RpcTransport against Ganache 7.9.2 (npm,
## pinned in scripts/ganache/), started on a free 127.0.0.1 port and stopped
## by its PID whatever happens.
ganache-e2e:
	bash scripts/ganache-e2e.sh

## Rebuild contracts/artifacts/EhrRegistry.json with the pinned solc-js.
contracts:
	bash scripts/contracts.sh build

## Fail if the committed contract artifact differs from a fresh build.
contracts-check:
	bash scripts/contracts.sh check

## Rewrite contracts/GAS.md from the devnet (review the diff!). A stale GAS.md
## fails `cargo test`.
gas:
	bash scripts/contracts.sh gas

## Criterion benches (not part of `make test`: these machines are noisy).
bench:
	$(CARGO) bench -p ehrchain-benches

## The npm package against the same pipeline in viem + node:crypto (pinned in
## benches/js/package.json): TI -> TC/s and proof verifications/s as ratios,
## and the gzipped .wasm size; writes target/bench-js.json. Not in `make test`.
bench-js:
	bash scripts/wasm-pack.sh
	npm ci --prefix benches/js --no-audit --no-fund --ignore-scripts
	node benches/js/bench.mjs

## Rewrite the test vectors in docs/vectors/ from the code (review the diff!).
vectors:
	EHRCHAIN_REGENERATE_VECTORS=1 $(CARGO) test -p ehrchain-core --test envelope_vectors --test template_vectors --test proof_vectors
