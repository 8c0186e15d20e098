#!/usr/bin/env bash
# The benchmark: builds Release, publishes the Functions app, then starts Azurite, the Converge Gate sandbox and the
# app's real worker behind the local Functions host, and prints a table in which every figure stands next to a
# baseline measured in the same run on this machine. Takes several minutes (the sweep seeds 100 000 sessions). Usage:
#   scripts/bench.sh              full run; the table is also written to artifacts/bench-<UTC time>.md
#   scripts/bench.sh --size tiny  the small run the test suite does (tests/Blik.Benchmarks.Tests)
#   scripts/bench.sh --size full --sweep-sizes 1000,10000   the full run without the slow 100 000-session seeding
#   scripts/bench.sh --size full --parts startup,cost        only start-up and cost per operation (CPU, allocation)
#   scripts/bench.sh --size full --parts ingest,processing,memory --soak-seconds 300
#                                 the memory soak: 5 minutes of load at rates this run measured the service sustains,
#                                 with heap dumps of the worker (installs dotnet-gcdump into tools/bin)
# Record a run's table in docs/performance.md as a new dated section (keep the older ones).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh azurite
# The soak's heap dumps need dotnet-gcdump; the other runs use it only when it is already installed.
if [[ " $* " == *" --soak-seconds "* ]]; then scripts/install-tools.sh gcdump; fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/Blik.Benchmarks/Blik.Benchmarks.csproj -c Release -nologo -v quiet
# What production runs: the published app (the benchmark runs its real worker from here).
dotnet publish src/Blik.Functions -c Release -nologo -v quiet -o artifacts/bench/functions-app
export BLIK_FUNCTIONS_APP="$root/artifacts/bench/functions-app"

size="full"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[$i]}" == "--size" ]]; then size="${args[$((i + 1))]:-full}"; fi
done

mkdir -p artifacts
out="artifacts/bench-$(date -u +%Y%m%dT%H%M%SZ)-${size}.md"
{
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
} >&2
dotnet bench/Blik.Benchmarks/bin/Release/net10.0/Blik.Benchmarks.dll --size "$size" "$@" --out "$out"
echo "Table written to $out" >&2
