#!/usr/bin/env bash
# Runs the service locally on http://127.0.0.1:7071 with everything it needs: Azurite (installed from npm and
# started on 10000-10002, data in .azurite/) and the Converge Gate sandbox on 7072, as configured by
# local.settings.sample.json (or your own src/Blik.Functions/local.settings.json). Ctrl-C stops it all.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Blik.LocalRunner -c Release -nologo -v quiet
exec dotnet src/Blik.LocalRunner/bin/Release/net10.0/Blik.LocalRunner.dll "$@"
