#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the
# whole test suite (unit and integration). .ci/run calls exactly this.
# Options are passed to ctest, e.g. `scripts/test.sh -L unit` for a quick run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh"
cd "$BUILD"
ctest --output-on-failure --timeout 600 -j "${TVERR_TEST_JOBS:-2}" "$@"
