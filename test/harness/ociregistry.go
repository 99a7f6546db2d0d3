package harness

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/registry"
	helmregistry "helm.sh/helm/v4/pkg/registry"
)

// OCIRegistry is an OCI registry in this process (go-containerregistry's
// registry, in memory) over plain HTTP on loopback. Charts go in with
// Helm's own registry client, as `helm push` does; a HelmRepository of
// type oci with insecure: true points at URL.
type OCIRegistry struct {
	*loopbackServer
	// dir holds the registry client's (empty) credentials file, so that
	// nothing of the user's setup takes part.
	dir    string
	client *helmregistry.Client
}

// OCIChart is a chart pushed to the registry.
type OCIChart struct {
	// Ref is the chart's reference without a scheme,
	// 127.0.0.1:PORT/charts/NAME:VERSION.
	Ref string
	// Digest is the manifest's digest ("sha256:…").
	Digest string
	// Name and Version are the chart's.
	Name, Version string
}

// StartOCIRegistry serves an empty registry on a free loopback port.
func StartOCIRegistry() (*OCIRegistry, error) {
	dir, err := os.MkdirTemp("", "gitgate-oci-")
	if err != nil {
		return nil, fmt.Errorf("create registry client folder: %w", err)
	}
	client, err := helmregistry.NewClient(
		helmregistry.ClientOptPlainHTTP(),
		helmregistry.ClientOptCredentialsFile(filepath.Join(dir, "config.json")),
		helmregistry.ClientOptWriter(io.Discard),
	)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("create Helm registry client: %w", err)
	}
	o := &OCIRegistry{dir: dir, client: client}
	if o.loopbackServer, err = serveLoopback(registry.New(registry.Logger(log.New(io.Discard, "", 0)))); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return o, nil
}

// URL is the registry's charts repository, oci://127.0.0.1:PORT/charts:
// a HelmRepository's spec.url, under which each chart is NAME:VERSION.
func (o *OCIRegistry) URL() string { return "oci://" + o.Addr() + "/charts" }

// Push packages the chart in chartDir and pushes it to
// charts/NAME:VERSION, strict as `helm push` is (the tag is the chart's
// version).
func (o *OCIRegistry) Push(chartDir string) (OCIChart, error) {
	tmp, err := os.MkdirTemp(o.dir, "package-")
	if err != nil {
		return OCIChart{}, err
	}
	defer os.RemoveAll(tmp)
	archive, md, err := PackageChart(chartDir, tmp)
	if err != nil {
		return OCIChart{}, err
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		return OCIChart{}, err
	}
	ref := fmt.Sprintf("%s/charts/%s:%s", o.Addr(), md.Name, md.Version)
	res, err := o.client.Push(data, ref)
	if err != nil {
		return OCIChart{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return OCIChart{Ref: ref, Digest: res.Manifest.Digest, Name: md.Name, Version: md.Version}, nil
}

// Close stops serving; the registry's content goes with it.
func (o *OCIRegistry) Close() {
	o.loopbackServer.close()
	_ = os.RemoveAll(o.dir)
}

// HelmRepository is a Flux HelmRepository of type oci named namespace/name
// that points at the registry's charts over plain HTTP (insecure: true),
// as YAML. source-controller keeps no artifact for it: the HelmChart of
// each HelmRelease pulls its chart, and is the object that turns Ready.
func (o *OCIRegistry) HelmRepository(namespace, name string) string {
	return fmt.Sprintf(helmRepositoryYAML, name, namespace, "oci", o.URL(), true)
}
