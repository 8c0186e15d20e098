#!/usr/bin/env bash
# Installs what the local run and the tests need besides the .NET SDK:
#   azurite  Azurite (npm, pinned in tools/package-lock.json) into tools/node_modules
#   bicep    the Bicep CLI (NuGet package Azure.Bicep.CommandLine.linux-x64, pinned in tools/bicep-cli.proj)
#            as tools/bin/bicep
#   gcdump   optional, not installed by default: dotnet-gcdump (a .NET tool from NuGet, pinned below) as
#            tools/bin/dotnet-gcdump; the benchmark's memory part uses it for heap dumps of the worker when present
# Usage: scripts/install-tools.sh [azurite] [bicep] [gcdump]   (no argument: azurite and bicep)
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

# dotnet-gcdump's version: the one the NuGet feed serves for .NET 10 processes.
gcdump_version="10.0.750501"

install_gcdump() {
  local target="$root/tools/bin/dotnet-gcdump"
  if [ -x "$target" ] && "$target" --version 2>/dev/null | grep -q "^$gcdump_version"; then
    return
  fi

  echo "Installing dotnet-gcdump $gcdump_version into tools/bin ..."
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  if [ -e "$target" ]; then
    dotnet tool uninstall dotnet-gcdump --tool-path "$root/tools/bin" >/dev/null
  fi
  dotnet tool install dotnet-gcdump --version "$gcdump_version" --tool-path "$root/tools/bin" >/dev/null
  "$target" --version
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(azurite bicep)
for tool in "${tools[@]}"; do
  case "$tool" in
    azurite) install_azurite ;;
    bicep) install_bicep ;;
    gcdump) install_gcdump ;;
    *) echo "Unknown tool '$tool' (known: azurite, bicep, gcdump)." >&2; exit 2 ;;
  esac
done
