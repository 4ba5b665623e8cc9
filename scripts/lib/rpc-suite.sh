# Sourced by the end-to-end scripts that run the JSON-RPC suite against a
# development node (Ganache, Hardhat): the Rust suites every node runs, built
# first so that the node is not kept waiting on the compiler, then run
# against it in the same order on every node. Sources dev-node.sh and
# quickstart-verdicts.sh beside it; sets CARGO (the cargo to run: $CARGO, or
# cargo) and CHAIN_ID (1337, the chain id every node here runs).
#
#   rpc_suite_node NAME SECS LOG     install the node pinned in scripts/NAME
#                                    (npm ci) and set NODE_DIR to that folder,
#                                    START_SECONDS to SECS (default 60) and LOG
#                                    to LOG (default: a temp file)
#   rpc_suite_build                  compile every suite and the quickstart
#   rpc_suite_transports URL         the suite, then the C ABI's transport
#   rpc_suite_faults URL NODE        faults (NODE: the node the restart test
#                                    starts itself), crashes, the pipeline
#                                    behind the fault proxy, four gateways

RPC_SUITE_LIB=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=dev-node.sh
source "$RPC_SUITE_LIB/dev-node.sh"
# shellcheck source=quickstart-verdicts.sh
source "$RPC_SUITE_LIB/quickstart-verdicts.sh"
CARGO=${CARGO:-cargo}
CHAIN_ID=1337

rpc_suite_node() {
  NODE_DIR=$(cd "$RPC_SUITE_LIB/../$1" && pwd)
  START_SECONDS=${2:-60}
  LOG=${3:-$(mktemp -t "$1-e2e.XXXXXX.log")}
  # --ignore-scripts: no install script is needed (Ganache's optional native
  # add-ons fall back to JavaScript), and nothing is compiled.
  npm ci --prefix "$NODE_DIR" --no-audit --no-fund --ignore-scripts >/dev/null
}

rpc_suite_build() {
  "$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked --no-run
  "$CARGO" test -p ehrchain-ffi --test rpc_ganache --locked --no-run
  "$CARGO" test -p ehrchain-contracts --test faults --locked --no-run
  "$CARGO" test -p ehrchain-examples --test crash --locked --no-run
  "$CARGO" test -p ehrchain-examples --test gateways --locked --no-run
  "$CARGO" test -p ehrchain-examples --test pipeline_faults --locked --no-run
  "$CARGO" build -p ehrchain-examples --example quickstart --locked
}

rpc_suite_transports() {
  EHRCHAIN_RPC_URL="$1" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" \
    "$CARGO" test -p ehrchain-contracts --test rpc_end_to_end --locked -- --include-ignored
  # The same node through the C ABI (ehr_transport_new_rpc), after the suite
  # so that the two never send from the same unlocked account at once.
  EHRCHAIN_RPC_URL="$1" EHRCHAIN_RPC_CHAIN_ID="$CHAIN_ID" \
    "$CARGO" test -p ehrchain-ffi --test rpc_ganache --locked -- --include-ignored
}

rpc_suite_faults() {
  # Every fault of a fault-injecting proxy in front of the node
  # (scripts/fault-proxy/proxy.mjs), a reorg after the ACK and a dropped
  # pending transaction on the node, and a node restart on a node of kind
  # NODE the test starts itself: one table row each.
  EHRCHAIN_RPC_URL="$1" EHRCHAIN_RESTART_NODE="$2" \
    "$CARGO" test -p ehrchain-contracts --test faults --locked -- --include-ignored --nocapture
  # The host process killed with SIGKILL at 50 seeded points of its flow and
  # restarted from its SQLite outbox, then a pipeline host with 2,000 TIs in
  # batches killed 8 times and resumed (examples/tests/crash.rs).
  EHRCHAIN_RPC_URL="$1" \
    "$CARGO" test -p ehrchain-examples --test crash --locked -- --include-ignored --nocapture
  # The anchoring pipeline, 2,000 TIs in batches and urgent anchors, behind
  # the fault proxy (answers dropped, late, reset, requests duplicated): one
  # table row per fault (examples/tests/pipeline_faults.rs).
  EHRCHAIN_RPC_URL="$1" \
    "$CARGO" test -p ehrchain-examples --test pipeline_faults --locked -- --include-ignored --nocapture
  # Four gateway processes, each with its own account and pipeline,
  # anchoring into one registry at once (examples/tests/gateways.rs).
  EHRCHAIN_RPC_URL="$1" \
    "$CARGO" test -p ehrchain-examples --test gateways --locked -- --include-ignored --nocapture
}
