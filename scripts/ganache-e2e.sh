#!/usr/bin/env bash
# The JSON-RPC end-to-end suite against Ganache: installs the Ganache pinned in
# scripts/ganache/package.json (npm ci, lockfile committed), starts it on
# 127.0.0.1 on a free port (Shanghai, deterministic wallet, chain id 1337,
# raised gas limits: Ganache's default per-transaction limit is 90,000), waits
# until it answers, runs contracts/tests/rpc_end_to_end.rs (then
# ehrchain-ffi/tests/rpc_ganache.rs, the C ABI's JSON-RPC transport) against it
# with EHRCHAIN_RPC_URL set, and stops it by its PID whatever happens
# (scripts/lib/dev-node.sh). Last, the quickstart's --rpc-url flow, whose
# verdicts must be scripts/quickstart-verdicts.txt
# (scripts/lib/quickstart-verdicts.sh).
#
# Environment:
#   CARGO                  cargo to use (default cargo)
#   GANACHE_START_SECONDS  how long to wait for Ganache to answer (default 60)
#   GANACHE_LOG            where Ganache's output goes (default: a temp file,
#                          printed if the suite fails)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GANACHE_DIR="$ROOT/scripts/ganache"
CARGO=${CARGO:-cargo}
START_SECONDS=${GANACHE_START_SECONDS:-60}
CHAIN_ID=1337
LOG=${GANACHE_LOG:-$(mktemp -t ganache-e2e.XXXXXX.log)}
# shellcheck source=lib/dev-node.sh
source "$ROOT/scripts/lib/dev-node.sh"
# shellcheck source=lib/quickstart-verdicts.sh
source "$ROOT/scripts/lib/quickstart-verdicts.sh"

# --ignore-scripts: Ganache's optional native add-ons are not needed (it falls
# back to JavaScript), and nothing is compiled.
npm ci --prefix "$GANACHE_DIR" --no-audit --no-fund --ignore-scripts >/dev/null

# Build the suite first, so the node is not kept waiting on the compiler.
"$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked --no-run
"$CARGO" test -p ehrchain-ffi --test rpc_ganache --locked --no-run
"$CARGO" test -p ehrchain-examples --test crash --locked --no-run
"$CARGO" test -p ehrchain-examples --test gateways --locked --no-run
"$CARGO" test -p ehrchain-examples --test pipeline_faults --locked --no-run
"$CARGO" test -p ehrchain-contracts --test faults --locked --no-run
"$CARGO" build -p ehrchain-examples --example quickstart --locked

URL="http://127.0.0.1:$(free_port)"
PORT=${URL##*:}
dev_node_start ganache-e2e "$LOG" "$URL" "$START_SECONDS" -- \
  node "$GANACHE_DIR/node_modules/ganache/dist/node/cli.js" \
  --server.host 127.0.0.1 --server.port "$PORT" \
  --chain.chainId "$CHAIN_ID" --chain.hardfork shanghai \
  --wallet.deterministic \
  --miner.blockGasLimit 30000000 --miner.defaultTransactionGasLimit 5000000 \
  --logging.quiet

start=$(date +%s)
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" \
  "$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked -- --include-ignored
# The same node through the C ABI (ehr_transport_new_rpc), after the suite so
# that the two never send from the same unlocked account at once.
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" \
  "$CARGO" test -p ehrchain-ffi --test rpc_ganache --locked -- --include-ignored
# Every fault of a fault-injecting proxy in front of the node
# (scripts/fault-proxy/proxy.mjs), a reorg after the ACK and a dropped
# pending transaction on the node, and a node restart on a Ganache the test
# starts itself (keeping its chain in a database): one table row each.
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RESTART_NODE=ganache \
  "$CARGO" test -p ehrchain-contracts --test faults --locked -- --include-ignored --nocapture
# The host process killed with SIGKILL at 50 seeded points of its flow and
# restarted from its SQLite outbox, then a pipeline host with 2,000 TIs in
# batches killed 8 times and resumed (examples/tests/crash.rs).
EHRCHAIN_RPC_URL="$URL" \
  "$CARGO" test -p ehrchain-examples --test crash --locked -- --include-ignored --nocapture
# The anchoring pipeline, 2,000 TIs in batches and urgent anchors, behind
# the fault proxy (answers dropped, late, reset, requests duplicated):
# one table row per fault (examples/tests/pipeline_faults.rs).
EHRCHAIN_RPC_URL="$URL" \
  "$CARGO" test -p ehrchain-examples --test pipeline_faults --locked -- --include-ignored --nocapture
# Four gateway processes, each with its own account and pipeline, anchoring
# into one registry at once (examples/tests/gateways.rs).
EHRCHAIN_RPC_URL="$URL" \
  "$CARGO" test -p ehrchain-examples --test gateways --locked -- --include-ignored --nocapture
# The quickstart's --rpc-url flow: the verdicts every node must give.
quickstart_verdicts ganache "$URL"
echo "ganache-e2e: suite passed in $(( $(date +%s) - start ))s"
