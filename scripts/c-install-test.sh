#!/usr/bin/env bash
# A C vendor's path, tested: `make install` into a temporary prefix, then the
# C tests (ehrchain-ffi/tests/c/test_ffi.c) built against the *installed*
# copy with pkg-config (shared and static) and with CMake's
# find_package(ehrchain) (ehrchain::ehrchain through the README's CMake block,
# and ehrchain::ehrchain_static), each run. Installs Debian's cmake when it is missing (apt-get, with sudo
# when not root). The debug build by default (PROFILE=release for the other).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFILE=${PROFILE:-debug}
CC=${CC:-cc}
CFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -g"
TEST_C="$ROOT/ehrchain-ffi/tests/c/test_ffi.c"

if ! command -v cmake >/dev/null; then
  echo "c-install-test.sh: installing Debian's cmake"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends cmake
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PREFIX="$WORK/prefix"
PREFIX="$PREFIX" PROFILE="$PROFILE" bash "$ROOT/scripts/c-install.sh"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"

# pkg-config, shared: the program needs libehrchain.so.<soname version>.
# shellcheck disable=SC2046 # pkg-config's flags are words
"$CC" $CFLAGS -o "$WORK/test_shared" "$TEST_C" $(pkg-config --cflags --libs ehrchain) -Wl,-rpath,"$PREFIX/lib"
needed=$(readelf -d "$WORK/test_shared" | sed -n 's/.*(NEEDED).*\[\(libehrchain[^]]*\)\]/\1/p')
soname=$(readelf -d "$PREFIX/lib/libehrchain.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ "$needed" = "$soname" ] && [ -e "$PREFIX/lib/$soname" ] ||
  { echo "c-install-test.sh: the program needs '$needed', the library's SONAME is '$soname'" >&2; exit 1; }
"$WORK/test_shared"

# pkg-config, static.
# shellcheck disable=SC2046
"$CC" $CFLAGS -o "$WORK/test_static" "$TEST_C" $(pkg-config --cflags --libs ehrchain-static)
if readelf -d "$WORK/test_static" | grep -q 'NEEDED.*libehrchain'; then
  echo "c-install-test.sh: the static build links the shared library" >&2; exit 1
fi
"$WORK/test_static"

# CMake: find_package(ehrchain) from the prefix, both imported targets; the
# shared one through the README's CMake block (my_ehr_app), as it is written.
mkdir -p "$WORK/cmake"
{
  cat <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(ehrchain_vendor C)
set(CMAKE_C_STANDARD 11)
add_executable(my_ehr_app "$TEST_C")
CMAKE
  awk '/^```cmake$/ { inside = 1; next } inside && /^```/ { exit } inside' "$ROOT/ehrchain-ffi/README.md"
  cat <<CMAKE
add_executable(test_static "$TEST_C")
target_link_libraries(test_static PRIVATE ehrchain::ehrchain_static)
CMAKE
} >"$WORK/cmake/CMakeLists.txt"
grep -q 'find_package(ehrchain' "$WORK/cmake/CMakeLists.txt" ||
  { echo "c-install-test.sh: ehrchain-ffi/README.md has no CMake block with find_package" >&2; exit 1; }
cmake -S "$WORK/cmake" -B "$WORK/cmake/build" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null
cmake --build "$WORK/cmake/build" >/dev/null
"$WORK/cmake/build/my_ehr_app"
"$WORK/cmake/build/test_static"
echo "c-install-test.sh: the installed library builds and passes the C tests with pkg-config (shared, static) and CMake (ehrchain::ehrchain, ehrchain::ehrchain_static)"
