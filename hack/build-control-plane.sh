#!/usr/bin/env bash
# Builds the control-plane binaries the end-to-end tests and the demo run:
# kube-apiserver and kubectl (k8s.io/kubernetes v1.37.2) and etcd (v3.6.16),
# all from the Go module proxy, since download sites are not reachable.
#
# The binaries land in .cache/bin (git-ignored) and are reused while the
# wrapper modules under hack/tools are unchanged. The folder is printed on the
# last line, ready for KUBEBUILDER_ASSETS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GITGATE_BIN_DIR:-$root/.cache/bin}
kube_version=v1.37.2
mkdir -p "$out"

# The stamp covers everything that decides what gets built.
stamp=$(cat "$0" "$root"/hack/tools/kube/go.{mod,sum} "$root"/hack/tools/etcd/go.{mod,sum} "$root"/hack/tools/etcd/main.go | sha256sum | cut -d' ' -f1)
if [[ -f $out/.stamp && $(cat "$out/.stamp") == "$stamp" && -x $out/kube-apiserver && -x $out/etcd && -x $out/kubectl ]]; then
	echo "control plane up to date in $out" >&2
	echo "$out"
	exit 0
fi

ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

start=$SECONDS
echo "building etcd ..." >&2
(cd "$root/hack/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" .)
echo "building kube-apiserver and kubectl $kube_version (about 10 minutes cold on 2 cores) ..." >&2
(cd "$root/hack/tools/kube" && go build -trimpath -ldflags "$ldflags" -o "$out/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
echo "$stamp" >"$out/.stamp"
echo "control plane built in $((SECONDS - start))s into $out" >&2
echo "$out"
