#!/usr/bin/env bash
# Installs the headless browser the browser tests drive: Debian's chromium package (Playwright's own browser
# download does not work on the build machines). Idempotent: does nothing when /usr/bin/chromium exists.
# CI runs as root on a fresh machine; elsewhere sudo is used when available.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present) (already installed)"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-browser.sh: run as root (or install sudo) to install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
