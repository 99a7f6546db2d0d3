package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"github.com/gitgate/gitgate/sources/helmchart/charttest"
)

// PackageChart loads the chart in dir with Helm's loader and writes it
// into outDir as NAME-VERSION.tgz, as `helm package` does. It returns the
// archive's path and the chart's metadata.
func PackageChart(dir, outDir string) (string, *chartv2.Metadata, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	path, err := chartutil.Save(ch, outDir)
	if err != nil {
		return "", nil, fmt.Errorf("package chart %s: %w", dir, err)
	}
	return path, ch.Metadata, nil
}

// HelmRepo is a Helm chart repository over plain HTTP on loopback: the
// packaged charts and an index.yaml built with Helm's own repo package, as
// `helm repo index` builds it. A HelmRepository of the default type points
// at URL.
type HelmRepo struct {
	*loopbackServer
	dir string
	add sync.Mutex // one Add at a time: package, then index
}

// StartHelmRepo serves an empty repository (an index with no entries) on
// a free loopback port; Add puts charts in it.
func StartHelmRepo() (*HelmRepo, error) {
	dir, err := os.MkdirTemp("", "gitgate-helmrepo-")
	if err != nil {
		return nil, fmt.Errorf("create chart repository folder: %w", err)
	}
	r := &HelmRepo{dir: dir}
	if r.loopbackServer, err = serveLoopback(http.FileServer(http.Dir(dir))); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := r.reindex(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Add packages the chart in chartDir into the repository and rebuilds the
// index, so the next fetch of index.yaml lists it. It returns the chart's
// metadata (Name, Version).
func (r *HelmRepo) Add(chartDir string) (*chartv2.Metadata, error) {
	r.add.Lock()
	defer r.add.Unlock()
	_, md, err := PackageChart(chartDir, r.dir)
	if err != nil {
		return nil, err
	}
	return md, r.reindex()
}

// reindex writes index.yaml over every archive in the folder, with
// absolute URLs.
func (r *HelmRepo) reindex() error {
	return charttest.WriteIndex(r.dir, r.URL())
}

// URL is the repository's address, http://127.0.0.1:PORT.
func (r *HelmRepo) URL() string { return "http://" + r.Addr() }

// Close stops serving and removes the charts.
func (r *HelmRepo) Close() {
	r.loopbackServer.close()
	_ = os.RemoveAll(r.dir)
}

// loopbackServer is an HTTP server on a free loopback port that remembers
// the paths it was asked for.
type loopbackServer struct {
	srv      *http.Server
	l        net.Listener
	mu       sync.Mutex
	requests []string
}

func serveLoopback(h http.Handler) (*loopbackServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &loopbackServer{l: l}
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, req.Method+" "+req.URL.Path)
		s.mu.Unlock()
		h.ServeHTTP(w, req)
	})}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "loopback server %s: %v\n", l.Addr(), err)
		}
	}()
	return s, nil
}

// Addr is the listener's address, 127.0.0.1:PORT.
func (s *loopbackServer) Addr() string { return s.l.Addr().String() }

// Requests are the requests served so far, as "GET /index.yaml".
func (s *loopbackServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *loopbackServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// HelmRepository is a Flux HelmRepository named namespace/name that points
// at the repository, as YAML, e.g. to commit to Git.
func (r *HelmRepo) HelmRepository(namespace, name string) string {
	return fmt.Sprintf(helmRepositoryYAML, name, namespace, "default", r.URL(), false)
}

// helmRepositoryYAML is a HelmRepository: name, namespace, type, URL and
// insecure (plain HTTP to an OCI registry).
const helmRepositoryYAML = `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: %s
  namespace: %s
spec:
  type: %s
  interval: 1m
  timeout: 30s
  url: %q
  insecure: %t
`
