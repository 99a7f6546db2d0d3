//go:build tools

// Package kwok pins kwok, which stands in for kubelets in the tests that run
// a whole control plane (test/cluster): hack/build-control-plane.sh builds
// sigs.k8s.io/kwok/cmd/kwok at this module's version and copies the Stage
// objects of its kustomize/stage/fast beside the binary.
//
// kwok v0.8.0's go.mod has no replace directives; copy any a later version
// adds here, since replace directives apply only in the main module.
package kwok

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
