package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FluxStatus is what any Flux object (a source, a Kustomization, a
// HelmChart, a HelmRelease) reports about its last reconciliation.
type FluxStatus struct {
	// Ready is the Ready condition's status: "True", "False", "Unknown" or
	// empty before the first reconciliation; Reason and Message are its.
	Ready, Reason, Message string
	// Current is true when status.observedGeneration is
	// metadata.generation: the status speaks of the spec as it is now.
	Current bool
	// Revision is a source's status.artifact.revision ("6.9.2",
	// "main@sha1:<commit>"), empty for the others.
	Revision string
	// History is a HelmRelease's status.history, newest release first.
	History []HelmReleaseSnapshot
}

// HelmReleaseSnapshot is one release in a HelmRelease's status.history:
// what helm-controller installed or upgraded.
type HelmReleaseSnapshot struct {
	Name         string `json:"name"`
	Namespace    string `json:"namespace"`
	Version      int    `json:"version"`
	ChartName    string `json:"chartName"`
	ChartVersion string `json:"chartVersion"`
	AppVersion   string `json:"appVersion"`
	// ConfigDigest is the digest of the values the release was made with
	// (fluxcd/pkg/chartutil.DigestValues, sha256 by default).
	ConfigDigest string `json:"configDigest"`
	// Digest is the digest of the release object Helm stored.
	Digest string `json:"digest"`
	// Status is Helm's: "deployed", "superseded", "failed", …
	Status string `json:"status"`
	// OCIDigest is the chart artifact's digest, for a chart from an OCI
	// source.
	OCIDigest string `json:"ociDigest"`
}

// FluxStatus reads the Flux object kind/namespace/name; kind is what
// kubectl takes ("helmrelease", "helmrepository", "gitrepository", …).
func (f *Flux) FluxStatus(kind, namespace, name string) (FluxStatus, error) {
	r := f.Kubectl.Run("", "get", kind, name, "-n", namespace, "-o", "json")
	if r.Failed() {
		return FluxStatus{}, fmt.Errorf("read %s %s/%s: %s: %w\n%s", kind, namespace, name, r.CommandLine(), r.Err, r.Stderr)
	}
	var obj struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
		Status   struct {
			ObservedGeneration int64                 `json:"observedGeneration"`
			Conditions         []metav1.Condition    `json:"conditions"`
			History            []HelmReleaseSnapshot `json:"history"`
			Artifact           *struct {
				Revision string `json:"revision"`
			} `json:"artifact"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		return FluxStatus{}, fmt.Errorf("decode %s %s/%s: %w", kind, namespace, name, err)
	}
	st := FluxStatus{Current: obj.Status.ObservedGeneration == obj.Metadata.Generation, History: obj.Status.History}
	if obj.Status.Artifact != nil {
		st.Revision = obj.Status.Artifact.Revision
	}
	for _, c := range obj.Status.Conditions {
		if c.Type == "Ready" {
			st.Ready, st.Reason, st.Message = string(c.Status), c.Reason, c.Message
		}
	}
	return st, nil
}

// WaitFluxReady polls the Flux object kind/namespace/name until it is
// Ready for its current generation, and returns its status then. It gives
// up early when a controller has exited.
func (f *Flux) WaitFluxReady(kind, namespace, name string, timeout time.Duration) (FluxStatus, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := f.FluxStatus(kind, namespace, name)
		if err == nil && st.Ready == "True" && st.Current {
			return st, nil
		}
		for _, c := range f.controllers() {
			if c.Exited() {
				return st, errors.New(c.Name + " exited")
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return st, fmt.Errorf("%s %s/%s not ready after %s: %w", kind, namespace, name, timeout, err)
			}
			return st, fmt.Errorf("%s %s/%s not ready after %s: ready=%q current=%v reason=%q: %s",
				kind, namespace, name, timeout, st.Ready, st.Current, st.Reason, st.Message)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
