#!/usr/bin/env bash
# The JSON-RPC end-to-end suite against Ganache: installs the Ganache pinned in
# scripts/ganache/package.json (npm ci, lockfile committed), starts it on
# 127.0.0.1 on a free port (Shanghai, deterministic wallet, chain id 1337,
# raised gas limits: Ganache's default per-transaction limit is 90,000), waits
# until it answers, runs contracts/tests/rpc_end_to_end.rs (then
# ehrchain-ffi/tests/rpc_ganache.rs, the C ABI's JSON-RPC transport) against it
# with EHRCHAIN_RPC_URL set, then the fault, crash, pipeline and gateway
# suites (scripts/lib/rpc-suite.sh, as on Hardhat), and stops it by its PID
# whatever happens (scripts/lib/dev-node.sh). Last, the quickstart's
# --rpc-url flow, whose verdicts must be scripts/quickstart-verdicts.txt
# (scripts/lib/quickstart-verdicts.sh).
#
# Environment:
#   CARGO                  cargo to use (default cargo)
#   GANACHE_START_SECONDS  how long to wait for Ganache to answer (default 60)
#   GANACHE_LOG            where Ganache's output goes (default: a temp file,
#                          printed if the suite fails)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/rpc-suite.sh
source "$ROOT/scripts/lib/rpc-suite.sh"
rpc_suite_node ganache "${GANACHE_START_SECONDS:-}" "${GANACHE_LOG:-}"

rpc_suite_build

URL="http://127.0.0.1:$(free_port)"
PORT=${URL##*:}
dev_node_start ganache-e2e "$LOG" "$URL" "$START_SECONDS" -- \
  node "$NODE_DIR/node_modules/ganache/dist/node/cli.js" \
  --server.host 127.0.0.1 --server.port "$PORT" \
  --chain.chainId "$CHAIN_ID" --chain.hardfork shanghai \
  --wallet.deterministic \
  --miner.blockGasLimit 30000000 --miner.defaultTransactionGasLimit 5000000 \
  --logging.quiet

start=$(date +%s)
rpc_suite_transports "$URL"
# The node restart runs on a Ganache the test starts itself, keeping its
# chain in a database.
rpc_suite_faults "$URL" ganache
# The quickstart's --rpc-url flow: the verdicts every node must give.
quickstart_verdicts ganache "$URL"
echo "ganache-e2e: suite passed in $(( $(date +%s) - start ))s"
