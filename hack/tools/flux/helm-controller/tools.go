//go:build tools

// Package helmcontroller pins Flux's helm-controller, which
// hack/build-flux.sh builds for the end-to-end tests.
package helmcontroller

import (
	_ "github.com/fluxcd/helm-controller"
)
