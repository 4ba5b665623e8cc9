#!/usr/bin/env bash
# A portal developer's path, tested: `npm pack` of the built package
# (ehrchain-wasm/pkg/, scripts/wasm-pack.sh) must hold the licences, the
# README, the types and both entry points; the tarball is then installed into
# a fresh project in a temporary folder, next to the pinned Ganache of the
# Node tests, and the README's example (its ```js block, as written) runs
# there in Node and anchors a reading.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG="$ROOT/ehrchain-wasm/pkg"
[ -f "$PKG/package.json" ] || { echo "npm-pack-test.sh: build the package first (scripts/wasm-pack.sh)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

tarball=$(cd "$PKG" && npm pack --silent --pack-destination "$WORK" | tail -n 1)
listing=$(tar -tzf "$WORK/$tarball")
for file in package.json README.md LICENSE-APACHE LICENSE-MIT index.js web.js index.d.ts web.d.ts \
  ehrchain_wasm.js ehrchain_wasm.d.ts ehrchain_wasm_bg.wasm; do
  grep -qx "package/$file" <<<"$listing" || { echo "npm-pack-test.sh: $tarball lacks $file" >&2; exit 1; }
done

GANACHE=$(node -p 'require(process.argv[1]).devDependencies.ganache' "$ROOT/ehrchain-wasm/tests/package.json")
mkdir "$WORK/portal"
cd "$WORK/portal"
echo '{ "name": "portal", "private": true, "type": "module" }' >package.json
npm install --no-audit --no-fund --silent "$WORK/$tarball" "ganache@$GANACHE"
node -e 'const m = require("fs").readFileSync(process.argv[1], "utf8"); process.stdout.write(/```js\n([\s\S]*?)```/.exec(m)[1])' \
  node_modules/ehrchain/README.md >example.mjs
output=$(node example.mjs)
echo "$output"
grep -Eq '^valid 0x[0-9a-f]{64}$' <<<"$output" ||
  { echo "npm-pack-test.sh: the README's example did not anchor a reading" >&2; exit 1; }
echo "npm-pack-test.sh: $tarball installs into a fresh project and runs the README's example"
