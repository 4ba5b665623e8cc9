#!/usr/bin/env bash
# The anchoring pipeline end to end against Hardhat's EDR node with interval
# mining (1 s blocks, so confirmations are real), beside what a developer
# writes today with viem (benches/peers/anchoring.mjs). Each run is one
# `gateway` process (examples/src/bin/gateway.rs) or four, printing one JSON
# line; all lines go to $OUT (default target/bench/anchoring.jsonl), which
# benches/peers/report.mjs turns into rows:
#   - batched, outbox off and on (SQLite), offered RATE TIs/s for SECONDS;
#   - one TI per transaction (urgent), at URGENT_RATE TIs/s: the chain's limit;
#   - a 10x overload of the batched rate: throughput, refusals as busy and
#     peak memory (bounded by the pipeline's 100,000 TIs);
#   - four gateways at once, each at RATE;
#   - viem: sequential, and Promise.all over 64 at once.
# SECONDS defaults to 60 (QUICK=1: 10); MAX_PENDING is each pipeline's bound
# (default 100,000, the pipeline's own default: one pipeline anchors at most
# about its bound over the ACK latency). Called by scripts/bench.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/lib/dev-node.sh
OUT=${OUT:-target/bench/anchoring.jsonl}
SECONDS_EACH=${SECONDS_EACH:-$([ -n "${QUICK:-}" ] && echo 10 || echo 60)}
RATE=${RATE:-20000}
URGENT_RATE=${URGENT_RATE:-300}
MAX_PENDING=${MAX_PENDING:-100000}
LOG=$(mktemp -t bench-anchoring.XXXXXX.log)
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

cargo build --release --locked -p ehrchain-examples --bin gateway >&2
GATEWAY=target/release/gateway
npm ci --prefix scripts/hardhat --no-audit --no-fund --ignore-scripts >/dev/null
npm ci --prefix benches/peers --no-audit --no-fund >/dev/null

URL="http://127.0.0.1:$(free_port)"
export HARDHAT_INTERVAL_MS=1000
pushd scripts/hardhat >/dev/null
dev_node_start bench-anchoring "$LOG" "$URL" 60 -- \
  node node_modules/hardhat/internal/cli/cli.js node --hostname 127.0.0.1 --port "${URL##*:}"
popd >/dev/null

# Accounts 1 to 4 are gateways, 5 the viem peer (all hold the device role).
{ read -r REGISTRY; read -r DEVICE_TEMPLATE; } < <("$GATEWAY" deploy "$URL" 5)

run() { # name account rate priority outbox
  local name=$1 account=$2 rate=$3 priority=$4 outbox=$5
  echo "bench-anchoring: $name" >&2
  "$GATEWAY" run "$URL" "$REGISTRY" "$account" "$SECONDS_EACH" "$rate" "$priority" "$outbox" \
    "max-pending=$MAX_PENDING" | sed "s/^{/{\"mode\":\"$name\",/" >> "$OUT"
}

DB=$(mktemp -u -t bench-anchoring.XXXXXX.sqlite)
run batched 1 "$RATE" bulk none
run batched-outbox 1 "$RATE" bulk "$DB"
run urgent 1 "$URGENT_RATE" urgent none
run overload 1 $((RATE * 10)) bulk none
echo "bench-anchoring: four gateways" >&2
pids=()
for account in 1 2 3 4; do
  "$GATEWAY" run "$URL" "$REGISTRY" "$account" "$SECONDS_EACH" "$RATE" bulk none \
    "max-pending=$MAX_PENDING" | sed "s/^{/{\"mode\":\"four-gateways\",/" >> "$OUT" &
  pids+=($!)
done
# Not a bare `wait`: the node is a child of this shell too.
for pid in "${pids[@]}"; do wait "$pid"; done
echo "bench-anchoring: viem" >&2
node benches/peers/anchoring.mjs "$URL" "$REGISTRY" 5 "$DEVICE_TEMPLATE" "$SECONDS_EACH" 64 >> "$OUT"
dev_node_stop
rm -f "$DB"
echo "bench-anchoring: $(wc -l < "$OUT") runs in $OUT" >&2
