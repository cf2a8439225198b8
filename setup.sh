#!/usr/bin/env bash
# ResWatch's one entry point on a Debian 12 machine:
#   ./setup.sh demo   install what is missing, build, start the dashboard on a live demo
#   ./setup.sh test   install what is missing, build (warnings are errors), run every test
#   ./setup.sh build  install what is missing and build
# BUILD_DIR (default: build) chooses the build directory.
set -euo pipefail

cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
PACKAGES=(cmake ninja-build pkg-config g++ qt6-base-dev qt6-charts-dev qt6-websockets-dev
          libqt6opengl6-dev libnats-dev nats-server xvfb xauth desktop-file-utils appstream
          dpkg-dev file)

install_missing() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: these Debian packages are missing: ${missing[*]}" >&2
        echo "setup.sh: install them as root (sudo apt-get install ${missing[*]}), then run this again." >&2
        exit 1
    fi
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
    cmake --build "$BUILD_DIR"
}

case "${1:-}" in
    demo)
        install_missing
        build
        exec "$BUILD_DIR/app/reswatch" demo
        ;;
    test)
        install_missing
        build -DRESWATCH_WERROR=ON
        cd "$BUILD_DIR"
        exec ctest --output-on-failure --parallel 2 --timeout 600
        ;;
    build)
        install_missing
        build
        ;;
    *)
        sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
