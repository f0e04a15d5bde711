#!/usr/bin/env bash
# Local training throughput of the node (LibTorch, C++) against PyTorch
# training the same TorchScript model on the same examples on this machine.
# Usage: scripts/bench-train.sh [images] [epochs] [threads]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${TVERR_BUILD_DIR:-$ROOT/build}"
IMAGES="${1:-6000}"; EPOCHS="${2:-2}"; THREADS="${3:-0}"
WORK=/tmp/tverr-bench-train
bash "$ROOT/scripts/install-deps.sh"
PY=/usr/bin/python3  # Debian's interpreter, where python3-torch lives
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "installing python3-torch for the reference" >&2
  apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
bash "$ROOT/scripts/build.sh" train_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
export OMP_WAIT_POLICY=passive
# Alternate the two three times and keep each one's best: the machine is
# noisy, and alternating spreads the noise over both.
best_ours=0; best_theirs=0
for _ in 1 2 3; do
  OURS=$("$BUILD/tests/train_bench" --images="$IMAGES" --epochs="$EPOCHS" --threads="$THREADS" \
         --work_dir="$WORK" 2>/dev/null | grep "images/s")
  N=$(( $(stat -c %s "$WORK/y.i64") / 8 ))
  THEIRS=$("$PY" "$ROOT/scripts/bench_train_pytorch.py" "$WORK" "$N" "$EPOCHS" "$THREADS")
  a=$(echo "$OURS" | sed -E 's/.* ([0-9]+) images\/s.*/\1/')
  b=$(echo "$THEIRS" | sed -E 's/.* ([0-9]+) images\/s.*/\1/')
  echo "  run: tverr $a images/s, pytorch $b images/s"
  [ "$a" -gt "$best_ours" ] && best_ours=$a
  [ "$b" -gt "$best_theirs" ] && best_theirs=$b
done
echo "tverr trainer (LibTorch C++): $best_ours images/s (best of 3)"
echo "pytorch reference:            $best_theirs images/s (best of 3)"
echo "ratio tverr/pytorch: $("$PY" -c "print(round($best_ours/$best_theirs, 3))")"
rm -rf "$WORK"
