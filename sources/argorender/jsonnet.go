package argorender

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	jsonnet "github.com/google/go-jsonnet"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// evalJsonnet evaluates a .jsonnet file of a directory source as the repo
// server's makeJsonnetVM sets it up: TLAs and extVars with their values
// expanded from the build environment, the app's folder and the libs
// (relative to the repository's root) as library paths, and imports
// confined to the repository. The result is one object or an array of
// them.
func evalJsonnet(files fs.FS, p, appPath string, j ApplicationSourceJsonnet, e env) ([]map[string]any, error) {
	vm := jsonnet.MakeVM()
	for _, a := range j.TLAs {
		if a.Code {
			vm.TLACode(a.Name, e.subst(a.Value))
		} else {
			vm.TLAVar(a.Name, e.subst(a.Value))
		}
	}
	for _, a := range j.ExtVars {
		if a.Code {
			vm.ExtCode(a.Name, e.subst(a.Value))
		} else {
			vm.ExtVar(a.Name, e.subst(a.Value))
		}
	}
	jpaths := []string{appPath}
	for _, l := range j.Libs {
		lib, err := inRepo(l)
		if err != nil {
			return nil, err
		}
		jpaths = append(jpaths, lib)
	}
	vm.Importer(&fsImporter{files: files, jpaths: jpaths, cache: map[string]*jsonnet.Contents{}})
	out, err := vm.EvaluateFile(p)
	if err != nil {
		return nil, fmt.Errorf("failed to evaluate jsonnet %q: %w", path.Base(p), err)
	}
	var list []*unstructured.Unstructured
	if err := json.Unmarshal([]byte(out), &list); err == nil {
		objs := make([]map[string]any, 0, len(list))
		for _, u := range list {
			if u != nil {
				objs = append(objs, u.Object)
			}
		}
		return objs, nil
	}
	var u unstructured.Unstructured
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		return nil, fmt.Errorf("failed to unmarshal generated json %q: %w", path.Base(p), err)
	}
	return []map[string]any{u.Object}, nil
}

// inRepo is a path relative to the repository's root, which it may not
// leave.
func inRepo(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(p, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s: resolves outside repository root", p)
	}
	return c, nil
}

// fsImporter is go-jsonnet's FileImporter over the repository: the
// importing file's folder first, then the library paths in reverse
// order. An absolute path, or one that leaves the repository, is refused,
// as Argo CD's confinedImporter refuses imports outside the checkout.
type fsImporter struct {
	files  fs.FS
	jpaths []string
	cache  map[string]*jsonnet.Contents
}

var errNoImport = errors.New("no match locally or in the Jsonnet library paths")

func (i *fsImporter) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	if path.IsAbs(importedPath) {
		return jsonnet.Contents{}, "", fmt.Errorf("jsonnet import %q resolves outside repository root", importedPath)
	}
	dirs := []string{path.Dir(importedFrom)}
	if importedFrom == "" {
		dirs = []string{"."}
	}
	for k := len(i.jpaths) - 1; k >= 0; k-- {
		dirs = append(dirs, i.jpaths[k])
	}
	for _, d := range dirs {
		p := path.Join(d, importedPath)
		if p == ".." || strings.HasPrefix(p, "../") {
			return jsonnet.Contents{}, "", fmt.Errorf("jsonnet import %q resolves outside repository root", importedPath)
		}
		if c, ok := i.cache[p]; ok {
			if c == nil {
				continue
			}
			return *c, p, nil
		}
		data, err := fs.ReadFile(i.files, p)
		if err != nil {
			i.cache[p] = nil
			continue
		}
		c := jsonnet.MakeContentsRaw(data)
		i.cache[p] = &c
		return c, p, nil
	}
	return jsonnet.Contents{}, "", fmt.Errorf("couldn't open import %q: %w", importedPath, errNoImport)
}
