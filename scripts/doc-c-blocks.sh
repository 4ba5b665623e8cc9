#!/usr/bin/env bash
# Compiles every C block (```c) of every Markdown file in the repository
# against the committed header, so a doc's C cannot drift from the ABI.
#   - a block with `int main(` is a whole program: compiled, linked against
#     the static library and run;
#   - any other block is a fragment of a host's code: compiled as the body of
#     a function, with ehrchain-ffi/tests/c/doc_fragments.h declaring what it
#     takes from the code around it (handles, buffers, the host's own
#     functions). `#line` points errors at the Markdown file and line.
# (ehrchain-ffi/README.md's first block also runs as a program under valgrind:
# scripts/ffi-readme-example.sh.)
#
# Usage: CC=cc CFLAGS="…" LDLIBS="…" scripts/doc-c-blocks.sh OUT_DIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$1
CC=${CC:-cc}
CFLAGS=${CFLAGS:-"-std=c11 -Wall -Wextra -Wpedantic -Werror -I$ROOT/ehrchain-ffi/include"}
LDLIBS=${LDLIBS:-}
rm -rf "$OUT"
mkdir -p "$OUT"

blocks=0 programs=0 files=0
while IFS= read -r md; do
  # One file per block: OUT/<md path, / as _>-<n>.block, its first line the
  # Markdown line the block starts at.
  prefix="$OUT/$(printf '%s' "$md" | tr '/' '_')"
  awk -v prefix="$prefix" '
    /^```c$/ { n++; file = prefix "-" n ".block"; print NR + 1 > file; inside = 1; next }
    inside && /^```/ { inside = 0; close(file); next }
    inside { print > file }' "$ROOT/$md"
  found=0
  for block in "$prefix"-*.block; do
    [ -e "$block" ] || continue
    found=1 blocks=$((blocks + 1))
    line=$(head -n 1 "$block")
    src=${block%.block}.c
    if grep -q 'int main(' "$block"; then
      { printf '#line %s "%s"\n' "$line" "$md"; tail -n +2 "$block"; } >"$src"
      # shellcheck disable=SC2086 # CFLAGS and LDLIBS are word lists
      "$CC" $CFLAGS -o "${src%.c}" "$src" $LDLIBS
      "${src%.c}" >/dev/null
      programs=$((programs + 1))
    else
      {
        printf '#include "doc_fragments.h"\n\nvoid doc_fragment(void);\nvoid doc_fragment(void) {\n'
        printf '#line %s "%s"\n' "$line" "$md"
        tail -n +2 "$block"
        printf '}\n'
      } >"$src"
      # shellcheck disable=SC2086
      "$CC" $CFLAGS -I"$ROOT/ehrchain-ffi/tests/c" -c -o "${src%.c}.o" "$src"
    fi
  done
  files=$((files + found))
done < <(git -C "$ROOT" ls-files '*.md' 2>/dev/null ||
  (cd "$ROOT" && find . -name '*.md' -not -path './target/*' -not -path '*/node_modules/*' | sed 's|^\./||'))

[ "$blocks" -gt 0 ] || { echo "doc-c-blocks.sh: no C blocks found" >&2; exit 1; }
echo "doc-c-blocks.sh: $blocks C blocks of $files Markdown files compile ($programs whole programs also ran)"
