//go:build tools

// Package sourcecontroller pins Flux's source-controller, which
// hack/build-flux.sh builds for the end-to-end tests.
package sourcecontroller

import (
	_ "github.com/fluxcd/source-controller"
)
