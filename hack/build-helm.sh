#!/usr/bin/env bash
# Builds the helm command (helm.sh/helm/v4 v4.3.2) from the Go module proxy,
# since download sites are not reachable, so that the chart tests run the
# real `helm lint`, `helm template` and `helm install`. Helm v4 is the one
# helm-controller v1.6.3 and the harness's chart repositories are built on
# (hack/tools/flux/helm-controller, test/harness/helmrepo.go).
#
# helm's go.mod has no replace directives, so `go install module@version`
# builds it exactly as released, checked against the checksum database,
# without a wrapper module. The binary lands in .cache/bin (git-ignored;
# $GITGATE_BIN_DIR overrides it, as for hack/build-control-plane.sh) and is
# reused while this script is unchanged. The bin folder is printed on the
# last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GITGATE_BIN_DIR:-$root/.cache/bin}
helm_version=v4.3.2
mkdir -p "$out"

# The stamp covers everything that decides what gets built.
stamp=$(sha256sum "$0" | cut -d' ' -f1)
if [[ -f $out/.helm-stamp && $(cat "$out/.helm-stamp") == "$stamp" && -x $out/helm ]]; then
	echo "helm up to date in $out" >&2
	echo "$out"
	exit 0
fi

rm -f "$out/.helm-stamp"
start=$SECONDS
echo "building helm $helm_version ..." >&2
# The version stamp makes `helm version` tell the truth; `go install` of a
# module version leaves helm's own default (v4.3) otherwise. These are the
# variables of helm's own Makefile (helm.sh/helm/v4/internal/version).
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
(cd "$out" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$out" \
	go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v4/cmd/helm@$helm_version")
echo "$stamp" >"$out/.helm-stamp"
echo "helm built in $((SECONDS - start))s into $out" >&2
echo "$out"
