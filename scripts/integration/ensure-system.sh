#!/usr/bin/env bash
# Debian packages the integration suite needs: a browser (chromium, driven by playwright-core),
# ripgrep (code-server's search) and libkrb5-dev (to build code-server's native modules).
# Installs the missing ones when run as root; otherwise says what to install.
set -euo pipefail
need=()
for p in chromium ripgrep libkrb5-dev; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "integration tests need: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
