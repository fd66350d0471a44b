#!/usr/bin/env bash
# Debian's PyTorch for scripts/models/export_torchvision.py: python3-torch, python3-torchvision, python3-onnx
# (there is no PyPI here). Installs the missing ones when run as root, without their recommends (build tools,
# video codecs: 236 MB of downloads instead of 153 MB); otherwise says what to install, in one line.
set -euo pipefail
need=()
for p in python3-torch python3-torchvision python3-onnx; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "the model zoo needs Debian's PyTorch: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
# the package lists of ensure-system.sh's update are usually fresh enough; refreshed when they are not
apt_install 2>/dev/null || { apt-get update -qq && apt_install; }
