// Package provenancetest holds the fakes and builders that tests of several
// packages share: manifests from YAML, a fake of discovery's scope, a
// Snapshot from YAML, and files on disk (internal/testyaml decodes one
// object). It is for tests only.
package provenancetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/gitgate/gitgate/provenance"
)

// Scope fakes discovery: it knows the kinds it lists (by
// schema.GroupKind's String, e.g. "Deployment.apps") and whether each is
// namespaced. Other kinds are unknown, as before their CRD is installed.
type Scope map[string]bool

// Namespaced implements provenance.Scope.
func (s Scope) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	ns, ok := s[gk.String()]
	return ns, ok, nil
}

// AnyKind knows every kind: the cluster-scoped kinds tests use are
// cluster-scoped, everything else is namespaced.
type AnyKind struct{}

// Namespaced implements provenance.Scope.
func (AnyKind) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	switch gk.Kind {
	case "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Node":
		return false, true, nil
	}
	return true, true, nil
}

// Objects parses the objects of a YAML (possibly multi-document) or JSON
// file written in a test.
func Objects(t testing.TB, y string) []map[string]any {
	t.Helper()
	objs, err := Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// Parse decodes every document of y with the decoder render reads Git
// with, skipping empty ones. It does not expand Lists or skip what is not
// a Kubernetes object, as render does: tests here write objects. It
// imports nothing of sources, so the tests of provenance and every package
// above it can use it.
func Parse(y string) ([]map[string]any, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(y)), 4096)
	var out []map[string]any
	for doc := 1; ; doc++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
}

// Revision is a fixed revision of branch main whose hash repeats c.
func Revision(c string) provenance.Revision {
	return provenance.Revision{Ref: "main", Hash: strings.Repeat(c, 40)}
}

// Snapshot indexes files (path to YAML) at rev, with namespace "default"
// for objects that name none.
func Snapshot(t testing.TB, scope provenance.Scope, rev provenance.Revision, files map[string]string) *provenance.Snapshot {
	t.Helper()
	var fs []provenance.File
	for p, y := range files {
		fs = append(fs, provenance.File{Path: p, Objects: Objects(t, y)})
	}
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	idx, err := ix.Build(rev, fs)
	if err != nil {
		t.Fatal(err)
	}
	return idx.Snapshot()
}

// Empty is a snapshot of one unnamed root at rev that declares nothing.
func Empty(rev provenance.Revision) *provenance.Snapshot {
	idx, err := (&provenance.Indexer{}).Build(rev, nil)
	if err != nil {
		panic(err) // nothing to index cannot fail
	}
	return idx.Snapshot()
}

// WriteFiles writes files (path relative to dir, to content), creating
// directories as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// WidgetCRD declares the namespaced custom resource Widget.example.com.
const WidgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`
