# ehrchain: every check runs from here. `make test` is what CI runs (.ci/run);
# it installs what it needs itself (rustup components and targets, nightly for
# cargo-fuzz, cargo-fuzz at a pinned version).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test setup fmt-check clippy unit wasm-core interop peers-check fuzz-smoke bench vectors contracts contracts-check gas ganache-e2e

## Every test: formatting, lints, unit/integration/doc tests, the wasm build of
## the core, the interop tests and a short fuzz run of every target.
test: setup fmt-check clippy contracts-check unit ganache-e2e wasm-core interop peers-check fuzz-smoke
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

## Other implementations agree with ours: node:crypto opens our envelopes
## following only docs/envelope.md, and OpenZeppelin's merkle-tree (pinned in
## ehrchain-core/tests/interop/package.json) verifies every proof vector.
interop:
	node ehrchain-core/tests/interop/open_envelopes.mjs
	npm ci --prefix ehrchain-core/tests/interop --no-audit --no-fund
	node ehrchain-core/tests/interop/verify_proofs.mjs

## The benchmark's peers (viem, ethers v6, node:crypto, WebCrypto,
## OpenZeppelin's merkle-tree; pinned in benches/peers/) reproduce ehrchain's
## TCs, a batch root and a proof byte for byte: the same work `make bench`
## times, and one more interop test.
peers-check:
	$(CARGO) build --locked -p ehrchain-benches --example peer_fixture
	mkdir -p target/bench
	target/debug/examples/peer_fixture > target/bench/fixture-check.json
	npm ci --prefix benches/peers --no-audit --no-fund
	node benches/peers/bench.mjs target/bench/fixture-check.json --check

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

## Every benchmark, ehrchain's and its peers', and one table with the ratios
## (scripts/bench.sh; benches/README.md). Not part of `make test`: these
## machines are noisy. QUICK=1 for a fast smoke run of the pipeline.
bench:
	bash scripts/bench.sh

## Rewrite the test vectors in docs/vectors/ from the code (review the diff!).
vectors:
	EHRCHAIN_REGENERATE_VECTORS=1 $(CARGO) test -p ehrchain-core --test envelope_vectors --test template_vectors --test proof_vectors
