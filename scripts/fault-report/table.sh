#!/usr/bin/env bash
# The fault table `make test` prints last: one Markdown row per scenario and
# node from the rows the fault tests wrote to target/fault-report/
# (scripts/fault-report/row.rs): the deterministic simulation
# (ehrchain-core/tests/fault_sim.rs), the fault proxy on real nodes
# (contracts/tests/faults.rs), the anchoring pipeline behind the fault proxy
# (examples/tests/pipeline_faults.rs) and the SIGKILL crash tests of a
# single-TI host and of a pipeline host (examples/tests/crash.rs). Fails
# when a row has violations, or when a scenario `make test` runs left no
# row (its test failed or did not run).
#
# Usage: table.sh [report dir] (default target/fault-report)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${1:-$ROOT/target/fault-report}

# scenario--node: every row `make test` must leave.
EXPECTED=(
  validator-under-faults--sim
  deep-reorgs-after-the-ack--sim
)
for node in ganache hardhat; do
  for fault in refuse blackhole delay drop-answer http-500 garbage \
    reorg-after-the-ack dropped-pending node-restart \
    burst-drop-answer burst-refuse blackhole-deadline; do
    EXPECTED+=("proxy-$fault--$node")
  done
  for fault in drop-answer delay refuse duplicate; do
    EXPECTED+=("pipeline-$fault--$node")
  done
  EXPECTED+=("sigkill-crash--$node" "sigkill-pipeline--$node")
done

status=0
echo "| scenario | node | runs | violations |"
echo "|---|---|---:|---:|"
for file in "$DIR"/*.tsv; do
  [ -e "$file" ] || continue
  IFS=$'\t' read -r scenario node runs violations <"$file"
  echo "| $scenario | $node | $runs | $violations |"
  if [ "$violations" != 0 ]; then status=1; fi
done
for row in "${EXPECTED[@]}"; do
  if [ ! -e "$DIR/$row.tsv" ]; then
    echo "fault-report: no row for ${row%%--*} on ${row##*--} (its test failed or did not run)" >&2
    status=1
  fi
done
if [ "$status" = 0 ]; then
  echo "fault-report: every scenario ran, 0 violations"
else
  echo "fault-report: FAILED" >&2
fi
exit "$status"
