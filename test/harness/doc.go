// Package harness starts the real parts gitgate is tested against: a
// kube-apiserver and etcd (through controller-runtime's envtest, on binaries
// hack/build-control-plane.sh builds), a Git server over HTTP and SSH
// (fluxcd/pkg/gittestserver), the gitgate binary itself, and kubectl; Flux's
// source-, kustomize- and helm-controller (StartFlux), a Helm chart
// repository over HTTP (StartHelmRepo) and an OCI registry (StartOCIRegistry)
// with charts packaged and pushed by Helm v4's own packages; and, to make
// the control plane a cluster, kube-controller-manager, kube-scheduler and
// kwok standing in for kubelets (StartCluster).
//
// The end-to-end tests and the demo share it, so it returns errors rather
// than taking a *testing.T. Everything listens on loopback only.
package harness
