//go:build tools

// Package kube pins the Kubernetes commands that hack/build-control-plane.sh
// builds for the end-to-end tests, all at one version: kube-apiserver and
// kubectl, and kube-controller-manager and kube-scheduler for the tests
// that run a whole control plane (test/cluster).
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
