#!/usr/bin/env bash
# Configures (once) and builds Tverr in build/ with Ninja and ccache.
# Usage: scripts/build.sh [ninja targets...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
JOBS="${TVERR_JOBS:-$(nproc)}"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD" -j "$JOBS" ${1:+--target "$@"}
