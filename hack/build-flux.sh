#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller (v1.9.6) from the
# Go module proxy, since download sites and image registries are not
# reachable, so that the end-to-end tests can run the real GitOps agent.
#
# The binaries land in .cache/bin (git-ignored; $GITGATE_BIN_DIR overrides
# it, as for hack/build-control-plane.sh) and Flux's CRDs, copied from the
# same modules, in its subfolder flux-crds. Both are reused while this script
# and the wrapper modules under hack/tools/flux are unchanged. The bin folder
# is printed on the last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GITGATE_BIN_DIR:-$root/.cache/bin}
tools=$root/hack/tools/flux
controllers=(source-controller kustomize-controller)
mkdir -p "$out"

# The stamp covers everything that decides what gets built.
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

start=$SECONDS
for c in "${controllers[@]}"; do
	echo "building $c v1.9.6 ..." >&2
	t=$SECONDS
	(cd "$tools/$c" && go build -trimpath -ldflags "-s -w" -o "$out/$c" "github.com/fluxcd/$c")
	# The CRDs come from the same module version as the controller.
	dir=$(cd "$tools/$c" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$c")
	install -m 0644 "$dir"/config/crd/bases/*.yaml "$out/flux-crds/"
	echo "built $c in $((SECONDS - t))s" >&2
done
echo "$stamp" >"$out/.flux-stamp"
echo "Flux controllers built in $((SECONDS - start))s into $out (CRDs in $out/flux-crds)" >&2
echo "$out"
