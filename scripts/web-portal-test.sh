#!/usr/bin/env bash
# The web portal test (examples/web/) in headless Chromium: installs Debian's
# chromium when /usr/bin/chromium is missing (apt-get, with sudo when not
# root), builds the npm package when it is not built, installs the pinned test
# packages (ehrchain-wasm/tests/package.json: ganache, playwright-core) and
# the portal's QR encoder and decoder (examples/web/package.json) and runs
# ehrchain-wasm/tests/portal.web.mjs, which serves the page on 127.0.0.1,
# drives it with playwright-core (Chromium's fake camera plays a QR code) and
# saves target/web-portal.png.
#
# Environment: CHROMIUM (default /usr/bin/chromium), EHRCHAIN_SCREENSHOT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
  echo "web-portal-test.sh: installing Debian's chromium"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
"$CHROMIUM" --version

[ -f "$ROOT/ehrchain-wasm/pkg/package.json" ] || bash "$ROOT/scripts/wasm-pack.sh"
npm ci --prefix "$ROOT/ehrchain-wasm/tests" --no-audit --no-fund --ignore-scripts >/dev/null
npm ci --prefix "$ROOT/examples/web" --no-audit --no-fund --ignore-scripts >/dev/null
cd "$ROOT/ehrchain-wasm/tests"
node --test portal.web.mjs
