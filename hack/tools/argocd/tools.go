//go:build tools

// Package argocd pins Argo CD's multi-call command (application controller,
// repo server, ApplicationSet controller and the rest, chosen by
// ARGOCD_BINARY_NAME), which hack/build-argocd.sh builds for the end-to-end
// tests.
package argocd

import (
	_ "github.com/argoproj/argo-cd/v3/cmd"
)
