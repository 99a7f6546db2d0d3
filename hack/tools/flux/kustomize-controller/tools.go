//go:build tools

// Package kustomizecontroller pins Flux's kustomize-controller, which
// hack/build-flux.sh builds for the end-to-end tests.
package kustomizecontroller

import (
	_ "github.com/fluxcd/kustomize-controller"
)
