#!/usr/bin/env bash
# Builds the control-plane binaries the end-to-end tests and the demo run,
# all from the Go module proxy, since download sites are not reachable:
#   - kube-apiserver, kubectl, kube-controller-manager and kube-scheduler
#     (k8s.io/kubernetes v1.37.2, wrapper module hack/tools/kube);
#   - etcd (v3.6.16, hack/tools/etcd);
#   - kwok (sigs.k8s.io/kwok v0.8.0, hack/tools/kwok), which stands in for
#     kubelets, with the Stage objects of its kustomize/stage/fast rendered
#     into kwok-stages.yaml and its own RBAC (kustomize/rbac) into
#     kwok-rbac.yaml, so that tests need no module cache.
#
# The binaries land in .cache/bin (git-ignored). Each of the three groups is
# rebuilt only when this script or its wrapper module changes (a stamp per
# group), and the groups that need building are built in parallel: while one
# links, the other compiles. The folder is printed on the last line, ready
# for KUBEBUILDER_ASSETS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GITGATE_BIN_DIR:-$root/.cache/bin}
tools=$root/hack/tools
kube_version=v1.37.2
mkdir -p "$out"

# Each group: the files that decide what gets built, and what it puts in
# $out. The stamp covers this script too (flags, versions).
declare -A inputs=(
	[kube]="$tools/kube/go.mod $tools/kube/go.sum $tools/kube/tools.go"
	[etcd]="$tools/etcd/go.mod $tools/etcd/go.sum $tools/etcd/main.go"
	[kwok]="$tools/kwok/go.mod $tools/kwok/go.sum $tools/kwok/tools.go"
)
declare -A outputs=(
	[kube]="kube-apiserver kubectl kube-controller-manager kube-scheduler"
	[etcd]="etcd"
	[kwok]="kwok kwok-stages.yaml kwok-rbac.yaml"
)
groups=(kube etcd kwok)

stamp_of() {
	# shellcheck disable=SC2086 # the inputs are word lists
	cat "$0" ${inputs[$1]} | sha256sum | cut -d' ' -f1
}
up_to_date() {
	local f
	[[ -f $out/.stamp.$1 && $(cat "$out/.stamp.$1") == "$(stamp_of "$1")" ]] || return 1
	for f in ${outputs[$1]}; do
		[[ -s $out/$f ]] || return 1
	done
}

ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

build_kube() {
	cd "$tools/kube" && go build -trimpath -ldflags "$ldflags" -o "$out/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl \
		k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}
build_etcd() {
	cd "$tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" .
}
build_kwok() {
	cd "$tools/kwok" && go build -trimpath -ldflags "-s -w" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok
}

# kwok_files renders, with the kubectl just built, kwok's fast stages (node
# initialisation, node heartbeat with a Lease, pod ready, complete and
# delete) and its RBAC, from the kwok version hack/tools/kwok pins.
kwok_files() {
	local dir
	dir=$(cd "$tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
	"$out/kubectl" kustomize "$dir/kustomize/stage/fast" >"$out/kwok-stages.yaml.tmp"
	"$out/kubectl" kustomize "$dir/kustomize/rbac" >"$out/kwok-rbac.yaml.tmp"
	grep -q '^kind: Stage$' "$out/kwok-stages.yaml.tmp" || { echo "no Stage in $dir/kustomize/stage/fast" >&2; return 1; }
	mv "$out/kwok-stages.yaml.tmp" "$out/kwok-stages.yaml"
	mv "$out/kwok-rbac.yaml.tmp" "$out/kwok-rbac.yaml"
}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
start=$SECONDS
declare -A pids=()
for g in "${groups[@]}"; do
	if up_to_date "$g"; then
		echo "$g up to date" >&2
		continue
	fi
	rm -f "$out/.stamp.$g"
	echo "building $g ..." >&2
	(
		t=$SECONDS
		"build_$g" >"$logs/$g" 2>&1
		echo "built $g in $((SECONDS - t))s" >&2
	) &
	pids[$g]=$!
done
failed=0
for g in "${!pids[@]}"; do
	if ! wait "${pids[$g]}"; then
		echo "building $g failed:" >&2
		cat "$logs/$g" >&2
		failed=1
	fi
done
((failed == 0)) || exit 1
if [[ -n ${pids[kwok]:-} ]]; then
	kwok_files
fi
for g in "${!pids[@]}"; do
	stamp_of "$g" >"$out/.stamp.$g"
done
if ((${#pids[@]} > 0)); then
	echo "control plane built in $((SECONDS - start))s into $out" >&2
else
	echo "control plane up to date in $out" >&2
fi
echo "$out"
