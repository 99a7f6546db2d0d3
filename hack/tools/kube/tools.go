//go:build tools

// Package kube pins the Kubernetes commands that hack/build-control-plane.sh
// builds for the end-to-end tests: kube-apiserver and kubectl at one version.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
