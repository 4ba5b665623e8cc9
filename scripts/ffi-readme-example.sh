#!/usr/bin/env bash
# Writes the C example of ehrchain-ffi/README.md ("A short example": the
# first ```c block) as a whole program, so `make ffi` builds and runs it
# exactly as the README shows it.
#
# Usage: scripts/ffi-readme-example.sh OUT.c
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$1
mkdir -p "$(dirname "$OUT")"
{
  printf '#include <stdbool.h>\n#include <stdint.h>\n\n#include "ehrchain.h"\n\nint main(void) {\n'
  awk '/^```c$/ { n++; if (n == 1) { inside = 1; next } } inside && /^```/ { exit } inside' \
    "$ROOT/ehrchain-ffi/README.md"
  printf '    return 0;\n}\n'
} >"$OUT"
grep -q ehr_handshaker_submit "$OUT" || { echo "ffi-readme-example.sh: the README's first C block is not the example" >&2; exit 1; }
