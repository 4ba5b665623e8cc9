#!/usr/bin/env bash
# The EhrRegistry and EhrConsent build, driven from the repository root (see contracts/README.md).
#
#   scripts/contracts.sh build   install the pinned compiler (npm ci) and rewrite
#                                contracts/artifacts/*.json (the registry, consent and the
#                                test contracts)
#   scripts/contracts.sh check   rebuild into a temporary folder and fail if the
#                                result differs from the committed artifacts
#   scripts/contracts.sh gas     measure every operation on the in-process devnet
#                                and rewrite contracts/GAS.md
set -euo pipefail
cd "$(dirname "$0")/../contracts"

CARGO=${CARGO:-cargo}

install() {
  command -v node >/dev/null || { echo "node (>= 20) and npm are required to build the contracts" >&2; exit 1; }
  npm ci --no-audit --no-fund --loglevel=error
}

case "${1:-}" in
  build)
    install
    node scripts/build.mjs
    ;;
  check)
    install
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    node scripts/build.mjs "$out"
    for built in "$out"/*.json; do
      committed="artifacts/$(basename "$built")"
      if ! cmp -s "$built" "$committed"; then
        diff -u "$committed" "$built" | head -40 >&2 || true
        echo "contracts/$committed is stale: run 'scripts/contracts.sh build' and commit it" >&2
        exit 1
      fi
    done
    echo "contracts/artifacts/*.json match a fresh build"
    ;;
  gas)
    EHRCHAIN_REGENERATE_GAS=1 "$CARGO" test -p ehrchain-contracts --test gas --locked
    echo "wrote contracts/GAS.md"
    ;;
  *)
    echo "usage: $0 build|check|gas" >&2
    exit 2
    ;;
esac
