#!/usr/bin/env bash
# Installs exactly the Debian 12 packages Tverr needs to build, test and run.
# Idempotent: when every package is already installed it returns in well under a second
# without touching apt. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache
  # wire protocol and transport
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # common libraries
  libabsl-dev libssl-dev libsqlite3-dev libgoogle-glog-dev
  # node: DICOM and training
  libdcmtk-dev libtorch-dev
  # demo data (Fashion-MNIST as DICOM)
  dataset-fashion-mnist zlib1g-dev
  # tests: a real PACS; a headless browser for the audit report's browser test
  libgtest-dev libgmock-dev orthanc chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
