#!/usr/bin/env bash
# Runs every test: unit tests, fuzz seeds, and the end-to-end tests against
# a real kube-apiserver, Git server and kubectl, real Flux controllers, real
# Argo CD and real helm.
# Builds the control plane, Flux, helm and Argo CD first (once; cached in
# .cache/). Ends with a one-line summary.
set -euo pipefail
cd "$(dirname "$0")/.."

# The builds are independent: run them side by side, each printing
# its own progress on stderr, and fail if any failed.
pids=()
./hack/build-control-plane.sh >/dev/null & pids+=($!)
./hack/build-flux.sh >/dev/null & pids+=($!)
./hack/build-helm.sh >/dev/null & pids+=($!)
./hack/build-argocd.sh >/dev/null & pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done
go vet ./...

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -count=1 -timeout 45m -v ./... >"$log" 2>&1 || status=$?
# Package results and failures in full; passing test names are counted only.
grep -E '^(ok|FAIL|---|panic:|\s+\S+_test\.go:[0-9]+:)|^\s+--- FAIL' "$log" | grep -v -- '--- PASS' || true
# A failed end-to-end package ends with the tail of gitgate's (and Flux's)
# logs (test/harness.Main): shown whole, since the failure is in them.
awk '/^--- .*: gitgate logs \(last/ {p = 1} p && !/^--- .*: gitgate logs \(last/ {print} /^FAIL\t/ {p = 0}' "$log"
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [[ $status -ne 0 && $failed -eq 0 ]]; then
	# A build error or a crash fails no single test: show the whole log.
	cat "$log"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
