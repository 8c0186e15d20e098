#!/usr/bin/env bash
# The project's test command: installs what the tests need (Azurite from npm, Chromium from Debian), builds everything with
# warnings as errors, publishes the deployable Functions app to artifacts/functions-app, runs every test project (unit,
# storage, sandbox, local host, integration, browser, deployment, reliability, benchmark) against that published app's
# real worker, then the integration and browser tests again against the sandbox's strict-docs mode and the flow tests
# against each of its response profiles, and prints a summary line with the time it took.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)

scripts/install-tools.sh
scripts/install-browser.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build BlikFunctions.sln -c Release -nologo -v quiet

mkdir -p artifacts

# The deployable Functions app, exactly what docs/operations.md zips and deploys: artifacts/functions-app. The worker
# SDK writes functions.metadata (what the host indexes), worker.config.json (how it starts the worker) and
# extensions.json (the host-side trigger extensions); without them the folder is not a Functions app.
app="artifacts/functions-app"
rm -rf "$app"
dotnet publish src/Blik.Functions -c Release --no-build -nologo -v quiet -o "$app"
for file in host.json functions.metadata worker.config.json extensions.json; do
  if [ ! -s "$app/$file" ]; then
    echo "$app/$file is missing: the publish did not produce a deployable Functions app." >&2
    exit 1
  fi
done
echo "Published the Functions app to $app"
# The test stacks run exactly this app's real worker (without it, each test process publishes its own copy).
export BLIK_FUNCTIONS_APP="$root/$app"

log="artifacts/test-output.log"
status=0
# One test assembly at a time: the integration, browser, reliability and benchmark tests start their own Azurite, sandbox,
# local Functions hosts and workers, and on a 2-core machine running them side by side only trades determinism for a
# minute or two.
dotnet test BlikFunctions.sln -c Release --no-build -nologo -maxcpucount:1 2>&1 | tee "$log" || status=$?

# The same service against the other ways Converge Gate may answer (docs/sandbox.md): the test stacks read the
# sandbox's mode and response profile from BLIK_SANDBOX_MODE / BLIK_SANDBOX_PROFILE. The integration and browser suites
# run again against the strict-docs sandbox (only what the pages say: no decline reasons, no "pending" pay answer, no
# 409s, JSON bodies refused, no refund cap); the classes that drive create, pay, get, webhooks and refunds run again
# against each single-spelling profile. The client's reading of every mode x profile is GatewayDialectTests, in the
# run above. Each extra pass adds its own "Passed!/Failed!" line to the total.
flows="FullyQualifiedName~CheckoutFlowTests|FullyQualifiedName~WebhookAndProcessingTests|FullyQualifiedName~RefundTests"
run_pass() {
  local name="$1" project="$2" filter="$3"; shift 3
  local pass_started=$(date +%s)
  echo "== $project against the sandbox's $name" | tee -a "$log"
  env "$@" dotnet test "$project" -c Release --no-build -nologo ${filter:+--filter "$filter"} 2>&1 | tee -a "$log" || status=$?
  echo "== $name pass took $(( $(date +%s) - pass_started )) s" | tee -a "$log"
}
run_pass "strict-docs mode" tests/Blik.IntegrationTests "FullyQualifiedName!~GatewayDialectTests" BLIK_SANDBOX_MODE=StrictDocs
run_pass "strict-docs mode" tests/Blik.BrowserTests "" BLIK_SANDBOX_MODE=StrictDocs
for profile in CreateExample RetrieveExample PayExample Mixed; do
  run_pass "$profile profile" tests/Blik.IntegrationTests "$flows" BLIK_SANDBOX_PROFILE=$profile
done

# One closing line over all test assemblies ("Passed!  - Failed: 0, Passed: 97, Skipped: 0, ..." per assembly):
# "Total: N passed, N failed, N skipped".
awk '
  /(Passed|Failed)! +- / {
    for (i = 1; i < NF; i++) {
      value = $(i + 1); gsub(",", "", value)
      if ($i == "Failed:") failed += value
      if ($i == "Passed:") passed += value
      if ($i == "Skipped:") skipped += value
    }
    assemblies++
  }
  END {
    printf "Total: %d passed, %d failed, %d skipped\n", passed, failed, skipped
    if (assemblies == 0) exit 1
  }
' "$log" || status=1
elapsed=$(( $(date +%s) - started ))
echo "scripts/test.sh took $(( elapsed / 60 )) min $(( elapsed % 60 )) s"
exit "$status"
