#!/usr/bin/env bash
# Runs the gitgate demo: builds the control plane (once; cached in .cache/),
# then starts etcd, kube-apiserver, a demo Git repository and gitgate, and
# shows allowed and denied kubectl commands. Pass --keep to keep it running.
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/build-control-plane.sh >/dev/null
exec go run ./hack/demo "$@"
