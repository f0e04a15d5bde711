#!/usr/bin/env bash
# Round time of the demo federation with and without secure aggregation
# (issue 5): runs scripts/demo.sh twice (plain, then secure; same data,
# seeds and rounds) and prints each round's duration as the coordinator
# recorded it, the medians and their ratio.
# Usage: scripts/bench-demo-secure.sh [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
ROUNDS="${1:-8}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for SECURE in 0 1; do
  TVERR_DEMO_ROUNDS="$ROUNDS" TVERR_DEMO_SECURE="$SECURE" TVERR_SKIP_SETUP="${TVERR_SKIP_SETUP:-}" \
    bash "$ROOT/scripts/demo.sh" --out "$OUT/demo-$SECURE" > "$OUT/demo-$SECURE.log" 2>&1 \
    || { tail -30 "$OUT/demo-$SECURE.log"; exit 1; }
  # The rounds' durations from the run's status (JSON), rounds 2.. (round 1
  # also loads data and fetches the model).
  grep -o '"duration_seconds": [0-9.]*' "$OUT/demo-$SECURE/research/status.json" | awk '{print $2}' \
    | tail -n +2 > "$OUT/d-$SECURE"
  echo "secure=$SECURE round durations (s, rounds 2..$ROUNDS): $(tr '\n' ' ' < "$OUT/d-$SECURE")"
done
P=$(median < "$OUT/d-0")
S=$(median < "$OUT/d-1")
echo "median round time: plain $P s, secure $S s, ratio secure/plain $(awk -v s="$S" -v p="$P" 'BEGIN{printf "%.2f", s/p}')"
