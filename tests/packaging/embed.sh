#!/usr/bin/env bash
# Installs the build into a fresh prefix and builds + runs tests/embedding against it
# from a clean build directory: proves find_package(ResWatch) and the installed headers.
set -euo pipefail
build_dir=$1 source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
test -f "$work/prefix/include/ResWatch/DashboardWidget" || { echo "forwarding header not installed"; exit 1; }
if ls "$work/prefix/include/ResWatch/"*_p.h > /dev/null 2>&1; then echo "private headers installed"; exit 1; fi
cmake -S "$source_dir/tests/embedding" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" \
    || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/example" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
QT_QPA_PLATFORM=offscreen "$work/example/embedding-example"
