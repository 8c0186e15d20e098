#!/usr/bin/env bash
# The project's test command: installs what the tests need (Azurite from npm), builds everything with
# warnings as errors, runs every test project (unit, storage, sandbox, integration), and prints a summary line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build BlikFunctions.sln -c Release -nologo -v quiet

mkdir -p artifacts
log="artifacts/test-output.log"
status=0
dotnet test BlikFunctions.sln -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee "$log" || status=$?

# One closing line over all test assemblies: "Total: N passed, N failed, N skipped".
awk '
  /^(Passed|Failed)!/ {
    for (i = 1; i <= NF; i++) {
      gsub(",", "", $(i + 1))
      if ($i == "Failed:") failed += $(i + 1)
      if ($i == "Passed:") passed += $(i + 1)
      if ($i == "Skipped:") skipped += $(i + 1)
    }
  }
  END { printf "Total: %d passed, %d failed, %d skipped\n", passed, failed, skipped }
' "$log"
exit "$status"
