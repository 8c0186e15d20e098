#!/usr/bin/env bash
# Runs the service locally on http://127.0.0.1:7071 as it ships: the published Blik.Functions app (the real worker
# process) behind the local Functions host (src/LocalFunctionsHost), with Azurite (from npm, on 10000-10002, data in
# .azurite/) and the Converge Gate sandbox on 7072, as configured by local.settings.sample.json (or your own
# src/Blik.Functions/local.settings.json). Ctrl-C stops it all.
#   scripts/run-local.sh            the local host
#   scripts/run-local.sh --func     Azure Functions Core Tools (func start) over the same published app instead
#                                   (needs func on the PATH; not tested on the build machines, where it cannot be installed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh azurite
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
app="artifacts/run-local/functions-app"
# The worker SDK's generated extensions project prints NU1603 warnings that the repository's warnings-as-errors does not
# reach (see README); they are noise here.
quiet() { "$@" | { grep -v 'warning NU1603' || true; }; }
quiet dotnet publish src/Blik.Functions -c Release -nologo -v quiet -o "$app"
quiet dotnet build src/Blik.DevServices -c Release -nologo -v quiet
exec dotnet src/Blik.DevServices/bin/Release/net10.0/Blik.DevServices.dll --app "$app" "$@"
