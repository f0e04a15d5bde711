#!/usr/bin/env bash
# Accuracy of FedAvg and FedAdam on non-IID demo data at 10 sites against
# centralised training of the same model (issue 4, benchmark e).
# Usage: scripts/bench-accuracy.sh [--rounds N] [--images_per_site N] ...
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" accuracy_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
OMP_WAIT_POLICY=passive "$BUILD/tests/accuracy_bench" "$@" 2>/dev/null
