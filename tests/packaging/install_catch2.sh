#!/bin/sh
# install_catch2.sh WRAP PACKAGECACHE DIR STAMP
# Installs the Catch2 of WRAP (subprojects/catch2.wrap, a [wrap-file] of a Catch2 3.x release) into DIR/prefix
# with Catch2's own CMake build, as a machine with Catch2 3 installed has it (catch2.pc, catch2-with-main.pc,
# Catch2Config.cmake), from the release tarball in PACKAGECACHE (where ./dev and Meson keep it, checked against
# the wrap's hash), then touches STAMP. The environment gives CMAKE, NINJA and CXX (the build's compiler).
# A unity build with no optimization: the quickest, and the packaging tests only link against it.
set -eu
wrap=$1
cache=$2
dir=$3
stamp=$4
value() { sed -n "s/^$1 *= *//p" "$wrap"; }
tarball="$cache/$(value source_filename)"
if [ ! -f "$tarball" ]; then
  echo "install_catch2.sh: $tarball is missing (./dev setup puts it there)" >&2
  exit 1
fi
echo "$(value source_hash)  $tarball" | sha256sum -c --quiet -
rm -rf "$dir"
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir"
log="$dir/build.log"
if ! { "$CMAKE" -S "$dir/$(value directory)" -B "$dir/build" -G Ninja -DCMAKE_MAKE_PROGRAM="$NINJA" \
         -DCMAKE_INSTALL_PREFIX="$dir/prefix" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE= \
         -DCMAKE_UNITY_BUILD=ON -DBUILD_TESTING=OFF -DCATCH_INSTALL_DOCS=OFF -DCATCH_INSTALL_EXTRAS=OFF &&
       "$CMAKE" --build "$dir/build" -j 2 && "$CMAKE" --install "$dir/build"; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  exit 1
fi
rm -rf "$dir/build" "$dir/$(value directory)"
touch "$stamp"
