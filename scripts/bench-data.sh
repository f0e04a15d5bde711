#!/usr/bin/env bash
# Benchmark of the node's data loading (cold decode and cached load) on the
# demo data, with a file-reading reference from the same run. Prints the
# numbers recorded in docs/benchmarks.md.
# Usage: scripts/bench-data.sh [--images N] [--repeats R]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" data_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD/tests/data_bench" "$@"
