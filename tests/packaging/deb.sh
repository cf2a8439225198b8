#!/usr/bin/env bash
# Builds the .deb with CPack and checks it as Debian would see it: package
# metadata, dependencies from the linked libraries, the files, and that the
# packaged executable runs.
set -euo pipefail
build_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$build_dir" && cpack -G DEB -B "$work/out" > "$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/*.deb)
info=$(dpkg-deb --info "$deb")
echo "$info" | grep -E "Package|Version|Depends|Recommends"
for dependency in libqt6widgets6 libqt6charts6 libqt6websockets6 libnats; do
    echo "$info" | grep -q "Depends:.*$dependency" || { echo "missing dependency $dependency"; exit 1; }
done
echo "$info" | grep -q "Recommends: nats-server" || { echo "nats-server is not recommended"; exit 1; }
contents=$(dpkg-deb --contents "$deb")
for file in usr/bin/reswatch usr/share/applications/io.github.reswatch.ResWatch.desktop \
            usr/share/metainfo/io.github.reswatch.ResWatch.metainfo.xml \
            usr/share/icons/hicolor/scalable/apps/io.github.reswatch.ResWatch.svg \
            usr/include/ResWatch/DashboardWidget; do
    echo "$contents" | grep -q "\./$file\$" || { echo "missing $file"; exit 1; }
done
echo "$contents" | grep -q "cmake/ResWatch/ResWatchConfig.cmake" || { echo "missing the CMake package"; exit 1; }
dpkg-deb --extract "$deb" "$work/root"
"$work/root/usr/bin/reswatch" --version
