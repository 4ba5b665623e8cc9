#!/usr/bin/env bash
# `make install PREFIX=… [PROFILE=release|debug] [FEATURES=…]`: builds
# ehrchain-ffi and installs what a C or C++ host links against:
#
#   PREFIX/include/ehrchain.h
#   PREFIX/lib/libehrchain.so.X.Y.Z, libehrchain.so.<soname version> and
#     libehrchain.so (links); the SONAME comes from ehrchain-ffi/build.rs
#   PREFIX/lib/libehrchain.a
#   PREFIX/lib/pkgconfig/ehrchain.pc         (shared: pkg-config --cflags --libs ehrchain)
#   PREFIX/lib/pkgconfig/ehrchain-static.pc  (static: … ehrchain-static)
#   PREFIX/lib/cmake/ehrchain/ehrchainConfig.cmake, ehrchainConfigVersion.cmake
#     (find_package(ehrchain) -> ehrchain::ehrchain, ehrchain::ehrchain_static)
#   PREFIX/share/ehrchain/valgrind.supp (ehrchain-ffi/valgrind.supp)
#
# The static library's system libraries are what rustc reports for it
# (`--print native-static-libs`); it also needs `-z noexecstack`, because
# keccak-asm's object has no .note.GNU-stack section.
#
# Environment: CARGO (default cargo), PREFIX (default /usr/local), PROFILE
# (default release), FEATURES (cargo features of ehrchain-ffi; default: its
# default features; "" for none, the core only).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO=${CARGO:-cargo}
PREFIX=${PREFIX:-/usr/local}
PROFILE=${PROFILE:-release}

VERSION=$(awk '/^\[workspace.package\]/ { p = 1 } p && /^version = / { gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.toml")
MAJOR=${VERSION%%.*}
MINOR=${VERSION#*.}; MINOR=${MINOR%%.*}
if [ "$MAJOR" = 0 ]; then SOVERSION="0.$MINOR"; else SOVERSION=$MAJOR; fi

args=(-p ehrchain-ffi --lib --locked)
[ "$PROFILE" = release ] && args+=(--release)
if [ "${FEATURES+set}" = set ]; then
  args+=(--no-default-features)
  [ -n "$FEATURES" ] && args+=(--features "$FEATURES")
fi
# `cargo rustc` builds the library like `cargo build` and lets rustc say
# which system libraries the static library needs.
out=$("$CARGO" rustc "${args[@]}" -- --print native-static-libs 2>&1) || { echo "$out" >&2; exit 1; }
NATIVE=$(sed -n 's/.*native-static-libs: //p' <<<"$out" | tail -n 1)
[ -n "$NATIVE" ] || { echo "c-install.sh: rustc did not report the static library's native libraries" >&2; exit 1; }

TARGET_DIR=$("$CARGO" metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
LIBDIR_BUILT="$TARGET_DIR/$PROFILE"

install -d "$PREFIX/include" "$PREFIX/lib/pkgconfig" "$PREFIX/lib/cmake/ehrchain" "$PREFIX/share/ehrchain"
install -m 644 "$ROOT/ehrchain-ffi/valgrind.supp" "$PREFIX/share/ehrchain/valgrind.supp"
install -m 644 "$ROOT/ehrchain-ffi/include/ehrchain.h" "$PREFIX/include/ehrchain.h"
install -m 644 "$LIBDIR_BUILT/libehrchain_ffi.a" "$PREFIX/lib/libehrchain.a"
install -m 755 "$LIBDIR_BUILT/libehrchain_ffi.so" "$PREFIX/lib/libehrchain.so.$VERSION"
ln -sf "libehrchain.so.$VERSION" "$PREFIX/lib/libehrchain.so.$SOVERSION"
ln -sf "libehrchain.so.$SOVERSION" "$PREFIX/lib/libehrchain.so"

DESCRIPTION="C ABI of the ehrchain blockchain handshaker for health records"
cat >"$PREFIX/lib/pkgconfig/ehrchain.pc" <<PC
prefix=$PREFIX
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: ehrchain
Description: $DESCRIPTION (shared library)
Version: $VERSION
Cflags: -I\${includedir}
Libs: -L\${libdir} -lehrchain
PC
cat >"$PREFIX/lib/pkgconfig/ehrchain-static.pc" <<PC
prefix=$PREFIX
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: ehrchain-static
Description: $DESCRIPTION (static library)
Version: $VERSION
Cflags: -I\${includedir}
Libs: \${libdir}/libehrchain.a -Wl,-z,noexecstack $NATIVE
PC

# CMake wants the system libraries as names: -lpthread -> pthread.
CMAKE_LIBS=$(sed 's/-l//g; s/ \+/;/g' <<<"$NATIVE")
cat >"$PREFIX/lib/cmake/ehrchain/ehrchainConfig.cmake" <<CMAKE
# find_package(ehrchain) -> ehrchain::ehrchain (the shared library) and
# ehrchain::ehrchain_static (the static library with its system libraries).
# Written by scripts/c-install.sh (make install).
get_filename_component(_ehrchain_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET ehrchain::ehrchain)
  add_library(ehrchain::ehrchain SHARED IMPORTED)
  set_target_properties(ehrchain::ehrchain PROPERTIES
    IMPORTED_LOCATION "\${_ehrchain_prefix}/lib/libehrchain.so.$VERSION"
    IMPORTED_SONAME "libehrchain.so.$SOVERSION"
    INTERFACE_INCLUDE_DIRECTORIES "\${_ehrchain_prefix}/include")
  add_library(ehrchain::ehrchain_static STATIC IMPORTED)
  set_target_properties(ehrchain::ehrchain_static PROPERTIES
    IMPORTED_LOCATION "\${_ehrchain_prefix}/lib/libehrchain.a"
    INTERFACE_INCLUDE_DIRECTORIES "\${_ehrchain_prefix}/include"
    INTERFACE_LINK_LIBRARIES "$CMAKE_LIBS"
    INTERFACE_LINK_OPTIONS "LINKER:-z,noexecstack")
endif()
unset(_ehrchain_prefix)
CMAKE
cat >"$PREFIX/lib/cmake/ehrchain/ehrchainConfigVersion.cmake" <<CMAKE
# ehrchain $VERSION: compatible with a request for the same major version
# (the same minor version before 1.0, where a minor version may break the ABI).
set(PACKAGE_VERSION "$VERSION")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif("$MAJOR" STREQUAL "0")
  if(PACKAGE_FIND_VERSION_MAJOR EQUAL 0 AND PACKAGE_FIND_VERSION_MINOR EQUAL $MINOR)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  endif()
elseif(PACKAGE_FIND_VERSION_MAJOR EQUAL $MAJOR)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
CMAKE
echo "c-install.sh: installed ehrchain $VERSION ($PROFILE${FEATURES+, features \"$FEATURES\"}) into $PREFIX"
