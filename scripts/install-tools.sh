#!/usr/bin/env bash
# Installs what the local run and the tests need besides the .NET SDK:
#   azurite  Azurite (npm, pinned in tools/package-lock.json) into tools/node_modules
#   bicep    the Bicep CLI (NuGet package Azure.Bicep.CommandLine.linux-x64, pinned in tools/bicep-cli.proj)
#            as tools/bin/bicep
# Usage: scripts/install-tools.sh [azurite] [bicep]   (no argument: all of them)
# Idempotent: a second run only checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

install_azurite() {
  if [ ! -x "$root/tools/node_modules/.bin/azurite" ]; then
    echo "Installing Azurite into tools/node_modules ..."
    (cd "$root/tools" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

install_bicep() {
  local project="$root/tools/bicep-cli.proj" target="$root/tools/bin/bicep" version
  version="$(sed -n 's:.*<BicepVersion>\(.*\)</BicepVersion>.*:\1:p' "$project")"
  if [ -x "$target" ] && "$target" --version 2>/dev/null | grep -q "version $version "; then
    return
  fi

  echo "Installing Bicep CLI $version into tools/bin ..."
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet restore "$project" -nologo -v quiet
  local packages
  packages="$(dotnet msbuild "$project" -nologo -getProperty:NuGetPackageRoot)"
  local source="${packages%/}/azure.bicep.commandline.linux-x64/$version/tools/bicep"
  if [ ! -f "$source" ]; then
    echo "Bicep CLI not found at $source after restore." >&2
    exit 1
  fi

  # A copy (not a link into the NuGet cache), made executable, replaced in one step.
  mkdir -p "$(dirname "$target")"
  install -m 0755 "$source" "$target.partial"
  mv -f "$target.partial" "$target"
  "$target" --version
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(azurite bicep)
for tool in "${tools[@]}"; do
  case "$tool" in
    azurite) install_azurite ;;
    bicep) install_bicep ;;
    *) echo "Unknown tool '$tool' (known: azurite, bicep)." >&2; exit 2 ;;
  esac
done
