#!/usr/bin/env bash
# Round overhead (issue 4, benchmark f): wall time of a round minus the
# nodes' local training, 5 nodes x 1M parameters over mutual TLS on
# loopback, with a transfer reference from the same run. Prints the numbers
# recorded in docs/benchmarks.md.
# Usage: scripts/bench-round.sh [--nodes N] [--rounds R] [--side S] [--images I]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" round_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
OMP_WAIT_POLICY=passive "$BUILD/tests/round_bench" "$@" 2>/dev/null
