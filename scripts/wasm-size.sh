#!/usr/bin/env bash
# The size of the npm package's .wasm, the one figure docs/performance.md and
# the READMEs quote: raw bytes and `gzip -9` bytes (what a browser downloads
# from a server that compresses). Fails when the gzipped size exceeds the
# ceiling, so the package cannot grow unnoticed.
#
# Usage: scripts/wasm-size.sh [path/to/ehrchain_wasm_bg.wasm]
# Environment: WASM_GZIP_CEILING_KIB (default below).
#
# The target is < 300 KiB gzipped; the ceiling is the size reached so far
# (docs/performance.md, "The npm package's .wasm"), lowered as it shrinks.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WASM=${1:-"$ROOT/ehrchain-wasm/pkg/ehrchain_wasm_bg.wasm"}
CEILING_KIB=${WASM_GZIP_CEILING_KIB:-537}
TARGET_KIB=300

[ -f "$WASM" ] || { echo "wasm-size.sh: $WASM not found (run scripts/wasm-pack.sh)" >&2; exit 1; }
raw=$(wc -c <"$WASM")
gz=$(gzip -9 -c "$WASM" | wc -c)
kib=$(awk -v b="$gz" 'BEGIN { printf "%.1f", b / 1024 }')
echo "wasm-size.sh: $(basename "$WASM") is $raw bytes, $gz bytes gzipped ($kib KiB; target < $TARGET_KIB KiB, ceiling $CEILING_KIB KiB)"
if [ "$gz" -gt $((CEILING_KIB * 1024)) ]; then
  echo "wasm-size.sh: the .wasm grew past its $CEILING_KIB KiB ceiling: find what costs the bytes (docs/performance.md) before raising it" >&2
  exit 1
fi
