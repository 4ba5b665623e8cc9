#!/usr/bin/env bash
# Fuzz smoke test: runs every cargo-fuzz target in fuzz/ briefly, each starting
# from a fresh copy of its committed seeds (fuzz/seeds/<target>/), and fails if
# any target finds a crash, a broken invariant, a timeout or a memory blow-up.
#
# Installs what it needs on a fresh machine: the nightly toolchain (cargo-fuzz
# needs -Zsanitizer) and cargo-fuzz at a pinned version.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 20)
#   FUZZ_TARGETS  space-separated targets to run (default: all of `cargo fuzz list`)
#
# A crash leaves its input in fuzz/artifacts/<target>/; reproduce it with
#   cargo +nightly fuzz run -a <target> fuzz/artifacts/<target>/<file>
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# A single input taking longer than this counts as a hang.
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-25}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
if [[ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "fuzz-smoke: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# -a: debug assertions and overflow checks on, so arithmetic slips crash too.
echo "fuzz-smoke: building the fuzz targets"
cargo +nightly fuzz build -a

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz-smoke: no fuzz targets found" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for target in "${targets[@]}"; do
    seeds="fuzz/seeds/$target"
    if [[ ! -d "$seeds" ]] || [[ -z "$(ls -A "$seeds")" ]]; then
        echo "fuzz-smoke: $target has no seeds in $seeds" >&2
        failed+=("$target (no seeds)")
        continue
    fi
    corpus="$work/$target"
    mkdir -p "$corpus"
    cp "$seeds"/* "$corpus"/
    echo "fuzz-smoke: $target for ${FUZZ_SECONDS}s from $(ls "$corpus" | wc -l) seeds"
    if cargo +nightly fuzz run -a "$target" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -print_final_stats=1 \
        >"$work/$target.log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$work/$target.log" |
            sed "s/^/fuzz-smoke: $target: /"
    else
        cat "$work/$target.log"
        echo "fuzz-smoke: $target FAILED; inputs kept in fuzz/artifacts/$target/" >&2
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz-smoke: failing targets: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: ${#targets[@]} targets ran ${FUZZ_SECONDS}s each without a crash"
