#!/usr/bin/env bash
# Aggregation throughput (FedAvg folding of streamed updates) against a
# memory-stream reference from the same run, and the coordinator's peak RSS
# for 50 nodes x 25M parameters. Prints what docs/benchmarks.md records.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" aggregation_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD/tests/aggregation_bench"
"$BUILD/tests/aggregation_bench" --rss_only --nodes=50 --params=25000000
