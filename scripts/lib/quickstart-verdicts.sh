# Sourced by the end-to-end scripts: the quickstart's `--rpc-url` flow
# (examples/quickstart.rs) against the node they started, its verdicts
# reduced to "what: VALID" or "what: INVALID, kept for audit: <why>" (block
# numbers, hashes, gas and how a valid ACK was reached, from a receipt,
# recovered or a replay, vary with the node's timing), and compared with
# scripts/quickstart-verdicts.txt: the same verdicts on every node and mining
# mode (issue 15's "done when").
#
#   quickstart_verdicts NAME URL     run, reduce, compare; fails on a difference

quickstart_verdicts() {
  local name=$1 url=$2 out
  out=$(mktemp -t "quickstart-$name.XXXXXX")
  "$CARGO" run -q -p ehrchain-examples --example quickstart --locked -- --rpc-url "$url" >"$out" 2>&1 \
    || { tail -n 40 "$out" >&2; echo "quickstart ($name): exited with an error" >&2; return 1; }
  sed -nE 's/^ *(.+): (VALID|INVALID)(, kept for audit: [^:]*)?.*/\1: \2\3/p' "$out" >"$out.verdicts"
  if ! diff -u "$ROOT/scripts/quickstart-verdicts.txt" "$out.verdicts" >&2; then
    echo "quickstart ($name): the verdicts differ from scripts/quickstart-verdicts.txt (full output: $out)" >&2
    return 1
  fi
  echo "quickstart ($name): $(wc -l <"$out.verdicts") verdicts, as expected"
}
