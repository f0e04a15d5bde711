#!/usr/bin/env bash
# Upload throughput over mutual TLS on loopback, with a plain-TCP reference
# from the same run. Prints the numbers recorded in docs/benchmarks.md.
# Usage: scripts/bench-transfer.sh [--megabytes N] [--repeats R]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" transfer_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD/tests/transfer_bench" "$@"
