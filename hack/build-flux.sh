#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller (v1.9.6) and
# helm-controller (v1.6.3) from the Go module proxy, since download sites
# and image registries are not reachable, so that the end-to-end tests can
# run the real GitOps agent.
#
# Each controller has a wrapper module under hack/tools/flux that pins its
# version and repeats its replace directives (a dependency's replacements do
# not apply). helm-controller v1.6.3 replaces Helm with Flux's fork, which
# the module proxy does not serve: its wrapper builds it on upstream Helm
# v4.3.2 instead (see hack/tools/flux/helm-controller/go.mod).
#
# The binaries land in .cache/bin (git-ignored; $GITGATE_BIN_DIR overrides
# it, as for hack/build-control-plane.sh) and Flux's CRDs, copied from the
# same modules, in its subfolder flux-crds. Both are reused while this script
# and the wrapper modules under hack/tools/flux are unchanged. The three
# builds run side by side. The bin folder is printed on the last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GITGATE_BIN_DIR:-$root/.cache/bin}
tools=$root/hack/tools/flux
controllers=(source-controller kustomize-controller helm-controller)
mkdir -p "$out"

# The stamp covers everything that decides what gets built: this script and
# every wrapper module (a new wrapper changes it too).
stamp=$(cat "$0" "$tools"/*/go.{mod,sum} "$tools"/*/tools.go | sha256sum | cut -d' ' -f1)
up_to_date() {
	[[ -f $out/.flux-stamp && $(cat "$out/.flux-stamp") == "$stamp" ]] || return 1
	for c in "${controllers[@]}"; do
		[[ -x $out/$c ]] || return 1
	done
	compgen -G "$out/flux-crds/*.yaml" >/dev/null
}
if up_to_date; then
	echo "Flux controllers up to date in $out" >&2
	echo "$out"
	exit 0
fi

# -mod=readonly: the wrapper modules' go.sum are complete; a build must not
# rewrite them.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
rm -f "$out/.flux-stamp"
rm -rf "$out/flux-crds"
mkdir -p "$out/flux-crds"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# build_one builds controller $1 from its wrapper module and copies the
# CRDs of the same module version.
build_one() {
	local c=$1 t=$SECONDS mod version dir
	mod=github.com/fluxcd/$c
	version=$(cd "$tools/$c" && go list -m -f '{{.Version}}' "$mod")
	echo "building $c $version ..." >&2
	(cd "$tools/$c" && go build -trimpath -ldflags "-s -w" -o "$out/$c" "$mod")
	dir=$(cd "$tools/$c" && go list -m -f '{{.Dir}}' "$mod")
	install -m 0644 "$dir"/config/crd/bases/*.yaml "$out/flux-crds/"
	echo "built $c $version in $((SECONDS - t))s" >&2
}

start=$SECONDS
declare -A pids
for c in "${controllers[@]}"; do
	build_one "$c" 2>"$logs/$c" &
	pids[$c]=$!
done
failed=()
for c in "${controllers[@]}"; do
	wait "${pids[$c]}" || failed+=("$c")
	cat "$logs/$c" >&2
done
if ((${#failed[@]})); then
	echo "building ${failed[*]} failed" >&2
	exit 1
fi
echo "$stamp" >"$out/.flux-stamp"
echo "Flux controllers built in $((SECONDS - start))s into $out (CRDs in $out/flux-crds)" >&2
echo "$out"
