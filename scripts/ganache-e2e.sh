#!/usr/bin/env bash
# The JSON-RPC end-to-end suite against Ganache: installs the Ganache pinned in
# scripts/ganache/package.json (npm ci, lockfile committed), starts it on
# 127.0.0.1 on a free port (Shanghai, deterministic wallet, chain id 1337,
# raised gas limits: Ganache's default per-transaction limit is 90,000), waits
# until it answers, runs contracts/tests/rpc_end_to_end.rs (then
# ehrchain-ffi/tests/rpc_ganache.rs, the C ABI's JSON-RPC transport) against it
# with EHRCHAIN_RPC_URL set, and stops it by its PID whatever happens.
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

# --ignore-scripts: Ganache's optional native add-ons are not needed (it falls
# back to JavaScript), and nothing is compiled.
npm ci --prefix "$GANACHE_DIR" --no-audit --no-fund --ignore-scripts >/dev/null

# Build the suite first, so the node is not kept waiting on the compiler.
"$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked --no-run
"$CARGO" test -p ehrchain-ffi --test rpc_ganache --locked --no-run
"$CARGO" test -p ehrchain-examples --test crash --locked --no-run
"$CARGO" test -p ehrchain-contracts --test faults --locked --no-run

# A free port: the kernel picks one, node frees it for Ganache.
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL="http://127.0.0.1:$PORT"

node "$GANACHE_DIR/node_modules/ganache/dist/node/cli.js" \
  --server.host 127.0.0.1 --server.port "$PORT" \
  --chain.chainId "$CHAIN_ID" --chain.hardfork shanghai \
  --wallet.deterministic \
  --miner.blockGasLimit 30000000 --miner.defaultTransactionGasLimit 5000000 \
  --logging.quiet >"$LOG" 2>&1 &
GANACHE_PID=$!

stop() {
  status=$?
  if kill -0 "$GANACHE_PID" 2>/dev/null; then
    kill "$GANACHE_PID" 2>/dev/null || true
    wait "$GANACHE_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "ganache-e2e: failed; Ganache's output ($LOG):" >&2
    tail -n 50 "$LOG" >&2 || true
  fi
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Wait until it answers eth_chainId (or dies).
probe='fetch(process.argv[1],{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({jsonrpc:"2.0",id:1,method:"eth_chainId",params:[]})}).then(r=>r.json()).then(j=>process.exit(j.result?0:1),()=>process.exit(1))'
for _ in $(seq 1 $((START_SECONDS * 4))); do
  if node -e "$probe" "$URL" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$GANACHE_PID" 2>/dev/null; then
    echo "ganache-e2e: Ganache exited before answering" >&2
    exit 1
  fi
  sleep 0.25
done
node -e "$probe" "$URL" || { echo "ganache-e2e: Ganache did not answer on $URL within ${START_SECONDS}s" >&2; exit 1; }
echo "ganache-e2e: Ganache 7.9.2 (pid $GANACHE_PID) answers on $URL"

start=$(date +%s)
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" \
  "$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked -- --include-ignored
# The same node through the C ABI (ehr_transport_new_rpc), after the suite so
# that the two never send from the same unlocked account at once.
EHRCHAIN_RPC_URL="$URL" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" \
  "$CARGO" test -p ehrchain-ffi --test rpc_ganache --locked -- --include-ignored
# Every fault of a fault-injecting proxy in front of the node
# (scripts/fault-proxy/proxy.mjs): one table row per fault.
EHRCHAIN_RPC_URL="$URL" \
  "$CARGO" test -p ehrchain-contracts --test faults --locked -- --include-ignored --nocapture
# The host process killed with SIGKILL at 50 seeded points of its flow and
# restarted from its SQLite outbox (examples/tests/crash.rs).
EHRCHAIN_RPC_URL="$URL" \
  "$CARGO" test -p ehrchain-examples --test crash --locked -- --include-ignored --nocapture
echo "ganache-e2e: suite passed in $(( $(date +%s) - start ))s"
