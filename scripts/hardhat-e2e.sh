#!/usr/bin/env bash
# The JSON-RPC end-to-end suite against a second, independent node: Hardhat
# 2.29's EDR node, pinned in scripts/hardhat/package.json (npm ci, lockfile
# committed; Hardhat 3's CLI refuses Node 20). Its network
# (scripts/hardhat/hardhat.config.js) has the Ganache run's chain id 1337 and
# Shanghai. Two runs, each on a free 127.0.0.1 port, each node stopped by its
# PID whatever happens (scripts/lib/dev-node.sh):
#   1. automine (a block per transaction; the suite mines on head reads so
#      that confirmations grow), then the C ABI's JSON-RPC transport, then the
#      npm package's Node tests (needs `make wasm` first: the Makefile's
#      hardhat-e2e depends on it);
#   2. interval mining, no automine (HARDHAT_INTERVAL_MS, a block every
#      second): real confirmations, nothing mined on request
#      (EHRCHAIN_RPC_INTERVAL_MINING=1), and the suite's clock paced by real
#      time.
# Each run ends with the quickstart's --rpc-url flow, whose verdicts must be
# those of scripts/quickstart-verdicts.txt, as on Ganache
# (scripts/lib/quickstart-verdicts.sh).
#
# Environment:
#   CARGO                  cargo to use (default cargo)
#   HARDHAT_START_SECONDS  how long to wait for the node to answer (default 60)
#   HARDHAT_LOG            where the node's output goes (default: a temp file,
#                          printed if the suite fails)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/rpc-suite.sh
source "$ROOT/scripts/lib/rpc-suite.sh"
rpc_suite_node hardhat "${HARDHAT_START_SECONDS:-}" "${HARDHAT_LOG:-}"
[ -f "$ROOT/ehrchain-wasm/pkg/index.js" ] || { echo "hardhat-e2e: build the npm package first (make wasm)" >&2; exit 1; }

rpc_suite_build

# Starts the node with `interval_ms` between blocks (0: automine) on a free
# port; sets URL.
# Hardhat runs only from its own project directory.
start_hardhat() {
  URL="http://127.0.0.1:$(free_port)"
  export HARDHAT_INTERVAL_MS=$1
  pushd "$NODE_DIR" >/dev/null
  dev_node_start hardhat-e2e "$LOG" "$URL" "$START_SECONDS" -- \
    node node_modules/hardhat/internal/cli/cli.js node --hostname 127.0.0.1 --port "${URL##*:}"
  popd >/dev/null
}

start=$(date +%s)
start_hardhat 0
rpc_suite_transports "$URL"
# The npm package's Node tests (built by `make wasm`) through its EIP-1193
# transport, over the node's HTTP JSON-RPC instead of Ganache's provider.
(cd "$ROOT/ehrchain-wasm/tests" && EHRCHAIN_RPC_URL="$URL" node --test ./*.test.mjs >"$LOG.js" 2>&1) \
  || { tail -n 60 "$LOG.js" >&2; exit 1; }
grep -E '^# (pass|fail) ' "$LOG.js"
# The fault-injecting proxy, the node's own faults, a node restart (on a
# Hardhat the test starts itself, which loses its chain), the SIGKILL crash
# tests, the pipeline behind the proxy and four gateways, as on Ganache.
rpc_suite_faults "$URL" hardhat
quickstart_verdicts hardhat-automine "$URL"
dev_node_stop
echo "hardhat-e2e: automine passed in $(( $(date +%s) - start ))s"

start=$(date +%s)
start_hardhat 1000
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" EHRCHAIN_RPC_INTERVAL_MINING=1 \
  "$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked -- --include-ignored
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RPC_INTERVAL_MINING=1 \
  "$CARGO" test -p ehrchain-examples --test gateways --locked -- --include-ignored --nocapture
quickstart_verdicts hardhat-interval "$URL"
echo "hardhat-e2e: interval mining passed in $(( $(date +%s) - start ))s"
