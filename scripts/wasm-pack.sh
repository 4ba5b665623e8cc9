#!/usr/bin/env bash
# Builds the npm package of ehrchain-wasm into ehrchain-wasm/pkg/ (not the
# wasm-pack tool: this repo's own few steps).
#
# 1. wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in
#    Cargo.lock (installed with `cargo install` only when the one on PATH
#    differs), and the wasm32-unknown-unknown target.
# 2. `cargo build -p ehrchain-wasm --target wasm32-unknown-unknown
#    --profile wasm-release --locked` (opt-level "z", LTO, one codegen unit).
# 3. `wasm-bindgen --target web`: one ES module that works in browsers and,
#    through the package's Node entry (which reads the .wasm with node:fs and
#    calls initSync), in Node >= 20.
# 4. The hand-written JavaScript (EIP-1193 transport, validator loop, entry
#    points, their .d.ts) from ehrchain-wasm/js/, and package.json (name
#    "ehrchain", the workspace version, "type": "module", an exports map with
#    "node" and "browser"/"default" conditions, types), the README and both
#    licence texts.
# 5. Reports the gzipped size of the .wasm (scripts/wasm-size.sh), and fails
#    when it grew past its ceiling.
#
# Environment: CARGO (default cargo), WASM_BINDGEN (default wasm-bindgen).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO=${CARGO:-cargo}
WASM_BINDGEN=${WASM_BINDGEN:-wasm-bindgen}
PKG="$ROOT/ehrchain-wasm/pkg"
TARGET_DIR=$("$CARGO" metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')

# The wasm-bindgen crate version in Cargo.lock.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
[ -n "$WB_VERSION" ] || { echo "wasm-pack.sh: wasm-bindgen is not in Cargo.lock" >&2; exit 1; }

have=$("$WASM_BINDGEN" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$WB_VERSION" ]; then
  echo "wasm-pack.sh: installing wasm-bindgen-cli $WB_VERSION (found: ${have:-none})"
  # --locked first; a registry mirror that lacks one of the CLI's locked
  # dependencies gets a fresh resolution of the same CLI version instead.
  "$CARGO" install wasm-bindgen-cli --version "=$WB_VERSION" --locked ||
    "$CARGO" install wasm-bindgen-cli --version "=$WB_VERSION"
  WASM_BINDGEN="$("$CARGO" install --list >/dev/null 2>&1; command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")"
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

"$CARGO" build -p ehrchain-wasm --target wasm32-unknown-unknown --profile wasm-release --locked

rm -rf "$PKG"
mkdir -p "$PKG"
"$WASM_BINDGEN" --target web --out-dir "$PKG" --out-name ehrchain_wasm \
  --remove-name-section --remove-producers-section \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/ehrchain_wasm.wasm"
# Errors wasm-bindgen's glue throws itself (a value that is not an instance
# of the expected class, an object used after free()) get the package's error
# shape too: EHR_INVALID_ARGUMENT (tests/errors.test.mjs checks it against
# the core's table). Fails if the glue changed shape.
node - "$PKG/ehrchain_wasm.js" <<'NODE'
const fs = require("node:fs");
const file = process.argv[2];
let js = fs.readFileSync(file, "utf8");
const patches = [
  ["throw new Error(`expected instance of ${klass.name}`);",
   "throw Object.assign(new Error(`expected an instance of ${klass.name}`), { name: \"EhrchainError\", code: \"EHR_INVALID_ARGUMENT\", kind: \"argument\", retryable: false });"],
  ["throw new Error(getStringFromWasm0(arg0, arg1));",
   "throw Object.assign(new Error(getStringFromWasm0(arg0, arg1)), { name: \"EhrchainError\", code: \"EHR_INVALID_ARGUMENT\", kind: \"argument\", retryable: false });"],
];
for (const [from, to] of patches) {
  if (!js.includes(from)) {
    console.error(`wasm-pack.sh: the wasm-bindgen glue no longer contains ${from}`);
    process.exit(1);
  }
  js = js.split(from).join(to);
}
fs.writeFileSync(file, js);
NODE
cp "$ROOT"/ehrchain-wasm/js/*.js "$ROOT"/ehrchain-wasm/js/*.d.ts "$PKG/"
cp "$ROOT/ehrchain-wasm/README.md" "$PKG/README.md"
cp "$ROOT/LICENSE-APACHE" "$ROOT/LICENSE-MIT" "$PKG/"

VERSION=$(awk '/^\[workspace.package\]/ { p = 1 } p && /^version = / { gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.toml")
cat >"$PKG/package.json" <<JSON
{
  "name": "ehrchain",
  "version": "$VERSION",
  "description": "ehrchain handshaker for JavaScript: EHR templates, TI to TC, sealed records, Merkle proofs, and a validator over any EIP-1193 provider",
  "license": "Apache-2.0 OR MIT",
  "type": "module",
  "main": "./index.js",
  "browser": "./web.js",
  "types": "./index.d.ts",
  "exports": {
    ".": {
      "types": "./index.d.ts",
      "node": "./index.js",
      "browser": "./web.js",
      "default": "./web.js"
    },
    "./ehrchain_wasm_bg.wasm": "./ehrchain_wasm_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": [
    "*.js",
    "*.d.ts",
    "snippets/",
    "ehrchain_wasm_bg.wasm",
    "README.md",
    "LICENSE-APACHE",
    "LICENSE-MIT"
  ],
  "sideEffects": [
    "./index.js",
    "./web.js"
  ],
  "engines": {
    "node": ">=20"
  }
}
JSON

echo "wasm-pack.sh: built $PKG (wasm-bindgen $WB_VERSION)"
bash "$ROOT/scripts/wasm-size.sh" "$PKG/ehrchain_wasm_bg.wasm"
