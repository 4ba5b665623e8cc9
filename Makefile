# ehrchain: every check runs from here. `make test` is what CI runs (.ci/run);
# it installs what it needs itself (rustup components and targets, nightly for
# cargo-fuzz, cargo-fuzz at a pinned version).

CARGO ?= cargo
CC ?= cc
CXX ?= c++
export CARGO_TERM_COLOR ?= never

.PHONY: install publish-check test setup fmt-check clippy doc unit fhir-validate wasm-core wasm web interop peers-check fuzz-smoke bench vectors contracts contracts-check gas ganache-e2e hardhat-e2e ffi fault-report

## Every test: formatting, lints, API docs, unit/integration/doc tests, the C ABI's C
## tests (also under valgrind), the wasm build of the core, the npm package's
## Node tests and the web portal in headless Chromium, the interop tests and a
## short fuzz run of every target.
test: setup fmt-check clippy doc contracts-check unit publish-check fhir-validate ffi ganache-e2e wasm-core wasm hardhat-e2e web interop peers-check fuzz-smoke fault-report
	@echo "make test: all checks passed"

## Toolchain pieces the checks need; the fault table starts empty.
setup:
	rm -rf target/fault-report
	rustup component add rustfmt clippy
	rustup target add wasm32-unknown-unknown
	@command -v node >/dev/null || { echo "node (>= 20) is required for the interop tests"; exit 1; }
	@command -v $(CC) >/dev/null && command -v $(CXX) >/dev/null || { echo "a C and a C++ compiler ($(CC), $(CXX)) are required for make ffi"; exit 1; }
	@command -v valgrind >/dev/null || { echo "valgrind is required for make ffi"; exit 1; }

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy -p ehrchain-core --all-targets --locked --features simd-keccak -- -D warnings

## The API docs build without a broken or private link (what docs.rs shows).
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --locked

## The workspace's tests, then the core's again with its opt-in batched
## Keccak (`simd-keccak`, p3-keccak), which also checks it against the
## default one-at-a-time Keccak.
unit:
	$(CARGO) test --workspace --locked
	$(CARGO) test -p ehrchain-core --locked --features simd-keccak,std-clock

## The crates meant for crates.io package and build from their packaged files
## alone, with their metadata: ehrchain-core. (The others are publish = false:
## ehrchain-contracts, ehrchain-ffi and ehrchain-wasm depend on ehrchain-core
## by path, which a dry run cannot resolve before ehrchain-core is published.)
publish-check:
	$(CARGO) publish --dry-run -p ehrchain-core --locked

## The Provenance and AuditEvent resources ehrchain writes, from the FHIR
## real-data suite, validated by an independent FHIR R4 library (Python
## fhir.resources, pinned; scripts/fhir-validate.sh).
fhir-validate:
	bash scripts/fhir-validate.sh

## The C ABI from C: the committed header matches a fresh cbindgen run and
## compiles as C11 and C++17; the C tests and the C example, built with the
## system compiler against the static library, pass, and pass again under
## valgrind (`--leak-check=full --error-exitcode=1` with the shipped
## ehrchain-ffi/valgrind.supp: any leak or memory error fails); the Rust
## tests in each feature set (all, core only, core + devnet); `make
## install` into a temporary prefix, and the C tests built against that
## installed copy with pkg-config (shared and static) and with CMake's
## find_package(ehrchain) pass (scripts/c-install-test.sh); the README's C
## example, extracted, builds and runs under valgrind; every C block of every
## Markdown file compiles against the header (scripts/doc-c-blocks.sh).
FFI_LIB := target/debug/libehrchain_ffi.a
FFI_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror -g -Iehrchain-ffi/include
# keccak-asm's object lacks a .note.GNU-stack section; then what Rust's std needs.
FFI_LDLIBS := -Wl,-z,noexecstack $(FFI_LIB) -lpthread -ldl -lm -lrt -lutil -lgcc_s
# A vendor's CI flags, with the suppression file the library ships (its one
# allocation kept for the process's life: the devnet's precompile table).
VALGRIND := valgrind -q --leak-check=full --error-exitcode=1 --suppressions=ehrchain-ffi/valgrind.supp

ffi:
	$(CARGO) build -p ehrchain-ffi --locked
	$(CARGO) test -p ehrchain-ffi --locked --test header
	$(CARGO) test -p ehrchain-ffi --locked --no-default-features
	$(CARGO) test -p ehrchain-ffi --locked --no-default-features --features devnet
	$(CC) $(FFI_CFLAGS) -fsyntax-only -x c ehrchain-ffi/include/ehrchain.h
	$(CXX) -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++ ehrchain-ffi/include/ehrchain.h
	mkdir -p target/ffi
	$(CC) $(FFI_CFLAGS) -o target/ffi/test_ffi ehrchain-ffi/tests/c/test_ffi.c $(FFI_LDLIBS)
	target/ffi/test_ffi
	$(VALGRIND) target/ffi/test_ffi
	bash scripts/c-install-test.sh
	$(MAKE) -C examples/c run CC="$(CC)"
	$(VALGRIND) examples/c/blood_pressure >/dev/null
	bash scripts/ffi-readme-example.sh target/ffi/readme_example.c
	$(CC) $(FFI_CFLAGS) -o target/ffi/readme_example target/ffi/readme_example.c $(FFI_LDLIBS)
	$(VALGRIND) target/ffi/readme_example
	CC="$(CC)" CFLAGS="$(FFI_CFLAGS)" LDLIBS="$(FFI_LDLIBS)" bash scripts/doc-c-blocks.sh target/ffi/doc-c
	@echo "make ffi: header, C tests and C example passed (also under valgrind)"

## The C library for a C or C++ host: the header, the shared library (with
## a SONAME) and the static one, pkg-config files (ehrchain, ehrchain-static)
## and a CMake package (find_package(ehrchain)) under PREFIX
## (scripts/c-install.sh). PROFILE=debug installs the debug build; FEATURES
## picks ehrchain-ffi's features ("" for the core only).
PREFIX ?= /usr/local
install:
	PREFIX="$(PREFIX)" bash scripts/c-install.sh

## The core must build for wasm32-unknown-unknown, so it can never grow I/O.
wasm-core:
	$(CARGO) build -p ehrchain-core --target wasm32-unknown-unknown --locked

## The npm package: builds ehrchain-wasm/pkg/ (scripts/wasm-pack.sh: the
## pinned wasm-bindgen-cli, ESM for Node and browsers, .d.ts) and runs the
## Node tests against that built package on Ganache's in-process provider
## (pinned in ehrchain-wasm/tests/package.json), key capsules among them both
## ways with @hpke/core (tests/capsule.test.mjs); then `npm pack`s it, installs
## the tarball into a fresh project and runs the README's example there
## (scripts/npm-pack-test.sh).
wasm:
	bash scripts/wasm-pack.sh
	npm ci --prefix ehrchain-wasm/tests --no-audit --no-fund --ignore-scripts
	cd ehrchain-wasm/tests && node --test *.test.mjs
	bash scripts/npm-pack-test.sh

## The web portal (examples/web/) in headless Chromium (Debian's chromium,
## installed if missing) with playwright-core and an EIP-1193 provider backed
## by Ganache's browser build; proofs' QR codes read from a file and from
## Chromium's fake camera; saves target/web-portal.png. Needs `make wasm`.
web:
	bash scripts/web-portal-test.sh

## Other implementations agree with ours: node:crypto opens our envelopes
## following only docs/envelope.md, OpenZeppelin's merkle-tree (pinned in
## ehrchain-core/tests/interop/package.json) verifies every proof vector, and
## viem and ethers hash, sign and verify every signed-statement vector as we do.
interop:
	node ehrchain-core/tests/interop/open_envelopes.mjs
	npm ci --prefix ehrchain-core/tests/interop --no-audit --no-fund
	node ehrchain-core/tests/interop/verify_proofs.mjs
	node ehrchain-core/tests/interop/verify_statements.mjs

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
## by its PID whatever happens; then the crash test: the host process killed
## with SIGKILL at 50 seeded points and restarted from its SQLite outbox.
ganache-e2e:
	bash scripts/ganache-e2e.sh

## The same suite against a second, independent node: Hardhat 2.29's EDR node
## (npm, pinned in scripts/hardhat/), with automine (then the C ABI's JSON-RPC
## test and the npm package's Node tests over HTTP) and again with interval
## mining (real confirmations), each started on a free 127.0.0.1 port and
## stopped by its PID whatever happens.
hardhat-e2e: wasm
	bash scripts/hardhat-e2e.sh

## One table of every fault scenario `make test` ran (scenario, node, runs,
## violations) from the rows the fault tests wrote to target/fault-report/:
## the deterministic simulation (unit), the fault proxy and the node's own
## faults, the anchoring pipeline behind the fault proxy, and the SIGKILL
## crash tests of a single-TI host and a pipeline host (ganache-e2e,
## hardhat-e2e). Fails when a row has violations or an expected scenario
## left no row (scripts/fault-report/table.sh).
fault-report:
	bash scripts/fault-report/table.sh

## Rebuild contracts/artifacts/*.json (the registry, consent, the test contracts) with
## the pinned solc-js.
contracts:
	bash scripts/contracts.sh build

## Fail if a committed contract artifact differs from a fresh build.
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
	EHRCHAIN_REGENERATE_VECTORS=1 $(CARGO) test -p ehrchain-core --test envelope_vectors --test template_vectors --test proof_vectors --test capsule_vectors
