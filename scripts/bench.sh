#!/usr/bin/env bash
# `make bench`: every benchmark of ehrchain and of its peers, in one process
# tree on this machine, then one table (benches/README.md, docs/performance.md).
#   1. the fixture the peers must reproduce byte for byte (peer_fixture);
#   2. the criterion benches (tc_generation, batch, ffi overhead when built),
#      then the batch bench again with core's opt-in `simd-keccak` feature;
#   3. peak memory of a 1M-record batch build and of a 10,000-entry FHIR
#      Bundle to one batch (/usr/bin/time -v);
#   4. the Node peers: viem, ethers v6, node:crypto, WebCrypto,
#      @openzeppelin/merkle-tree, @hpke/core (benches/peers/, pinned with its lockfile),
#      and the WASM package (built here by scripts/wasm-pack.sh);
#   5. the primitive floor: `openssl speed` for AES-256-GCM, SHA-256, SHA3-256;
#   6. benches/peers/report.mjs: the table on stdout, target/bench/report.json.
# QUICK=1 shortens every run (a smoke test of the pipeline, not figures).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"
quick=${QUICK:-}
cargo_bench_args=()
node_args=()
openssl_seconds=2
if [[ -n "$quick" ]]; then
    cargo_bench_args=(-- --warm-up-time 0.2 --measurement-time 0.5)
    node_args=(--quick)
    openssl_seconds=1
fi

echo "== fixture" >&2
cargo build --release --locked -p ehrchain-benches --examples
target/release/examples/peer_fixture > "$out/fixture.json"

echo "== criterion" >&2
# benches/ffi_overhead.rs writes the C ABI's overhead to $out/ffi_overhead.json,
# benches/fhir.rs the FHIR path's over the TI path to $out/fhir_overhead.json
# (TI as a struct) and $out/fhir_overhead_text.json (TI as JSON text).
rm -f "$out/ffi_overhead.json" "$out/fhir_overhead.json" "$out/fhir_overhead_text.json"
EHRCHAIN_BENCH_OUT="$PWD/$out" cargo bench --locked -p ehrchain-benches --benches "${cargo_bench_args[@]}"

# The default build hashes one Keccak-256 at a time (keccak-asm); the batch
# bench runs again with ehrchain-core's opt-in `simd-keccak` feature (batch
# leaves and verify_many in p3-keccak's SIMD lanes), its figures kept apart
# in target/criterion-simd-keccak/ and reported as their own rows.
echo "== criterion, batch bench, --features ehrchain-core/simd-keccak" >&2
CRITERION_HOME="$PWD/target/criterion-simd-keccak" \
    cargo bench --locked -p ehrchain-benches --bench batch --features ehrchain-core/simd-keccak "${cargo_bench_args[@]}"

# keccak-asm picks its Keccak assembly when it is compiled: the AVX-512VL
# variant only in a build for a CPU that has it. The keccak-bound benches run
# again in such a build (its own target directory; default features), reported
# beside the portable build's figures (docs/performance.md).
if grep -qw avx512vl /proc/cpuinfo; then
    echo "== criterion, keccak-bound benches, -C target-cpu=native" >&2
    RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR="$PWD/target/native" \
        cargo bench --locked -p ehrchain-benches --bench batch "${cargo_bench_args[@]}"
fi

echo "== peak memory of a 1,000,000-record batch" >&2
/usr/bin/time -v target/release/examples/batch_build 1000000 2> "$out/batch_build.time" > "$out/batch_build.out"

echo "== peak memory of a 10,000-entry FHIR Bundle to one batch" >&2
/usr/bin/time -v target/release/examples/fhir_bundle 10000 2> "$out/fhir_bundle.time" > "$out/fhir_bundle.out"

echo "== the npm package" >&2
bash scripts/wasm-pack.sh >&2

echo "== Node peers" >&2
npm ci --prefix benches/peers --no-audit --no-fund >&2
node benches/peers/bench.mjs "$out/fixture.json" "${node_args[@]}" > "$out/peers.json"
node benches/peers/authorship.mjs "${quick:+1}" "$out/authorship_peers.json" >&2
node benches/peers/capsule.mjs "${quick:+1}" "$out/capsule_peers.json" >&2

echo "== the anchoring pipeline on Hardhat (1 s blocks) beside viem" >&2
OUT="$out/anchoring.jsonl" QUICK="$quick" bash scripts/bench-anchoring.sh

echo "== primitive floor (openssl speed)" >&2
: > "$out/openssl.txt"
for spec in aes-256-gcm:1024 aes-256-gcm:16384 aes-256-gcm:262144 \
            sha256:1187 sha256:16547 sha256:262307 sha3-256:13600; do
    openssl speed -mr -elapsed -seconds "$openssl_seconds" -bytes "${spec#*:}" -evp "${spec%%:*}" \
        2>&1 | grep '^+R:' | sed "s/^/${spec#*:}:/" >> "$out/openssl.txt"
done

node benches/peers/report.mjs "$out"
