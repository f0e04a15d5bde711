#!/usr/bin/env bash
# Secure aggregation cost: per-node masking (ns per parameter per peer) and
# the coordinator's summing and unmasking, next to a plain-aggregation
# reference measured in the same run, for 10 and 50 nodes x 1M and 25M
# parameters with 0 % and 10 % dropouts after sharing keys. Every round is
# real (certificates, keys, shares, masks) and its sum is checked. Prints
# what docs/benchmarks.md records. Extra arguments go to secagg_bench
# (e.g. --nodes=10 --params=1000000; --finish_threads=1 for the
# coordinator's unmasking on one thread instead of one per core).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" secagg_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BUILD/tests/secagg_bench" "$@"
