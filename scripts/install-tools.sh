#!/usr/bin/env bash
# Installs what the local run and the tests need besides the .NET SDK:
#   - Azurite (npm, pinned in tools/package-lock.json)
# Idempotent: a second run only checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ ! -x "$root/tools/node_modules/.bin/azurite" ]; then
  echo "Installing Azurite into tools/node_modules ..."
  (cd "$root/tools" && npm ci --no-audit --no-fund --loglevel=error)
fi
