#!/usr/bin/env bash
# Builds Argo CD (v3.6.2) and the kustomize command its repo server runs
# (v5.8.2) from the Go module proxy, since download sites and image
# registries are not reachable, so that the end-to-end tests can run the real
# Argo CD: its application controller, repo server and ApplicationSet
# controller, all one multi-call binary chosen by ARGOCD_BINARY_NAME.
#
# Argo CD v3.6.2 needs Go 1.27: this script, and only this script, builds
# the wrapper module hack/tools/argocd with GOTOOLCHAIN=go1.27.3, which the
# go command takes from the module proxy like any module. gitgate itself stays
# on its own Go. kustomize v5.8.2 builds on the machine's Go, exactly as
# released (its go.mod has no replace directives), like hack/build-helm.sh.
#
# What lands in .cache/bin (git-ignored; $GITGATE_BIN_DIR overrides it, as
# for hack/build-control-plane.sh): argocd, kustomize, Argo CD's
# git-verify-wrapper.sh (the repo server runs it from PATH), and Argo CD's
# CRDs (Application, ApplicationSet, AppProject) in its subfolder
# argocd-crds, all from the same module version. They are reused while this
# script and the wrapper module are unchanged. The bin folder is printed on
# the last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GITGATE_BIN_DIR:-$root/.cache/bin}
tools=$root/hack/tools/argocd
argocd_version=v3.6.2
kustomize_version=v5.8.2
mkdir -p "$out"

# The stamp covers everything that decides what gets built.
stamp=$(cat "$0" "$tools"/go.{mod,sum} "$tools"/tools.go | sha256sum | cut -d' ' -f1)
up_to_date() {
	[[ -f $out/.argocd-stamp && $(cat "$out/.argocd-stamp") == "$stamp" ]] || return 1
	[[ -x $out/argocd && -x $out/kustomize && -x $out/git-verify-wrapper.sh ]] || return 1
	compgen -G "$out/argocd-crds/*.yaml" >/dev/null
}
if up_to_date; then
	echo "Argo CD up to date in $out" >&2
	echo "$out"
	exit 0
fi

rm -f "$out/.argocd-stamp"
rm -rf "$out/argocd-crds"
mkdir -p "$out/argocd-crds"
start=$SECONDS

echo "building kustomize $kustomize_version ..." >&2
t=$SECONDS
(cd "$out" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="$out" \
	go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version")
echo "built kustomize in $((SECONDS - t))s" >&2

echo "building Argo CD $argocd_version ..." >&2
t=$SECONDS
# For this build only. -mod=readonly: the wrapper module's go.sum is
# complete; a build must not rewrite it.
export GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
pkg=github.com/argoproj/argo-cd/v3/common
ldflags="-s -w -X $pkg.version=${argocd_version#v} -X $pkg.gitTag=$argocd_version -X $pkg.gitTreeState=clean"
(cd "$tools" && go build -trimpath -ldflags "$ldflags" -o "$out/argocd" github.com/argoproj/argo-cd/v3/cmd)
# The CRDs and the signature-check wrapper come from the same module version.
dir=$(cd "$tools" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
for crd in application applicationset appproject; do
	install -m 0644 "$dir/manifests/crds/$crd-crd.yaml" "$out/argocd-crds/"
done
install -m 0755 "$dir/hack/git-verify-wrapper.sh" "$out/git-verify-wrapper.sh"
echo "built Argo CD in $((SECONDS - t))s" >&2

echo "$stamp" >"$out/.argocd-stamp"
echo "Argo CD and kustomize built in $((SECONDS - start))s into $out (CRDs in $out/argocd-crds)" >&2
echo "$out"
