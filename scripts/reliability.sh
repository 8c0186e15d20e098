#!/usr/bin/env bash
# The large reliability run: the fault storm at 10 000 sessions, 10 000 fuzz cases, two minutes of load, plus the
# outage and security tests; then prints the figures (also kept in artifacts/reliability/*.txt).
#
#   scripts/reliability.sh                                  # the documented sizes
#   STORM_SESSIONS=2000 STORM_SEED=7 scripts/reliability.sh # another size or seed
#   RELIABILITY_FILTER=StormTests scripts/reliability.sh    # only the storm (any dotnet test --filter expression)
#
# Sizes: STORM_SESSIONS (10000), STORM_SEED (20261121), STORM_CONCURRENCY (24), STORM_POLL_RATE (40 GETs/s), FUZZ_CASES (10000), FUZZ_SEED
# (random, printed), LOAD_SECONDS (120), LOAD_RPS (60). The CI run (scripts/test.sh) uses the small defaults built
# into the tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-tools.sh azurite >/dev/null

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export STORM_SESSIONS="${STORM_SESSIONS:-10000}" STORM_SEED="${STORM_SEED:-20261121}" STORM_CONCURRENCY="${STORM_CONCURRENCY:-24}"
export FUZZ_CASES="${FUZZ_CASES:-10000}" LOAD_SECONDS="${LOAD_SECONDS:-120}" LOAD_RPS="${LOAD_RPS:-60}"
[[ -n "${FUZZ_SEED:-}" ]] && export FUZZ_SEED

dotnet build tests/Blik.ReliabilityTests -c Release -nologo -v quiet
# The stacks run the published app's real worker.
dotnet publish src/Blik.Functions -c Release -nologo -v quiet -o artifacts/reliability/functions-app
export BLIK_FUNCTIONS_APP="$root/artifacts/reliability/functions-app"

mkdir -p artifacts/reliability
rm -f artifacts/reliability/*.txt
log="artifacts/reliability/test-output.log"
filter=()
[[ -n "${RELIABILITY_FILTER:-}" ]] && filter=(--filter "$RELIABILITY_FILTER")

echo "Reliability run: STORM_SESSIONS=$STORM_SESSIONS STORM_SEED=$STORM_SEED FUZZ_CASES=$FUZZ_CASES LOAD_SECONDS=$LOAD_SECONDS LOAD_RPS=$LOAD_RPS"
started=$(date +%s)
status=0
dotnet test tests/Blik.ReliabilityTests -c Release --no-build -nologo --logger "console;verbosity=normal" "${filter[@]}" 2>&1 | tee "$log" || status=$?

echo
echo "== Figures ($(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; $(( $(date +%s) - started )) s) =="
for name in storm fuzz load; do
  if [[ -f "artifacts/reliability/$name.txt" ]]; then
    echo
    cat "artifacts/reliability/$name.txt"
  fi
done
grep -E '^(Passed|Failed)!' "$log" || true
exit "$status"
