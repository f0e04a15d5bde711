#!/usr/bin/env bash
# Audit log (common/audit): durable appends per second with one fsync and a
# signed tree head per round, and offline verification of a log of one
# million records, each next to a reference measured in the same run (raw
# write + fdatasync of the same bytes in the same batches; reading and
# SHA-256 leaf-hashing the same lines). Prints what docs/benchmarks.md
# records. The scratch files (~0.6 GB) go to a temporary directory inside
# the build directory (a real disk: fsync on tmpfs costs nothing) and are
# deleted at the end. Extra arguments go to audit_bench (see --help).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh" audit_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "scratch file system: $(df -T "$BUILD" | awk 'NR==2 {print $2}')"
"$BUILD/tests/audit_bench" --tmp_dir="$BUILD" "$@"
