// Package charttest serves Helm charts to tests as the real registries do:
// a chart repository whose index Helm's own repo package writes, behind
// basic auth when asked, and OCI artifacts pushed with the media types
// `helm push` and `flux push artifact` give them.
package charttest

import (
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/repo/v1"
)

// The media types of a chart `helm push` writes.
const (
	HelmConfig = "application/vnd.cncf.helm.config.v1+json"
	HelmLayer  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// WriteIndex writes dir/index.yaml over every chart archive in dir, as
// `helm repo index --url baseURL` does, with a zero generation time so
// the same charts give the same index.
func WriteIndex(dir, baseURL string) error {
	idx, err := repo.IndexDirectory(dir, baseURL)
	if err != nil {
		return fmt.Errorf("index chart repository: %w", err)
	}
	idx.SortEntries()
	idx.Generated = time.Time{}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		return fmt.Errorf("write index.yaml: %w", err)
	}
	return nil
}

// Repository serves dir below prefix ("/charts/", or "/" for the root).
// With a user, a request without that user and password is answered 401.
func Repository(dir, prefix, user, password string) http.Handler {
	files := http.StripPrefix(prefix, http.FileServer(http.Dir(dir)))
	if user == "" {
		return files
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// Push writes layer to ref as a one-layer OCI image with the given config
// and layer media types (HelmConfig and HelmLayer for a chart) and returns
// the manifest's digest.
func Push(ref, configType, layerType string, layer []byte, opts ...remote.Option) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(configType))
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(layer, types.MediaType(layerType))})
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img, opts...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// Package writes the chart whose files (by path in the chart: Chart.yaml,
// values.yaml, templates/…) are given into dir as `helm package` does,
// and returns the archive's path.
func Package(dir string, files map[string]string) (string, error) {
	var bf []*archive.BufferedFile
	for n, d := range files {
		bf = append(bf, &archive.BufferedFile{Name: n, Data: []byte(d)})
	}
	c, err := loader.LoadFiles(bf)
	if err != nil {
		return "", err
	}
	return chartutil.Save(c, dir)
}
