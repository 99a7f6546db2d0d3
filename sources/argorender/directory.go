package argorender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/gobwas/glob"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// manifestFile is the names a directory source reads unless
// disableExtensionFilter (reposerver/repository manifestFile).
var manifestFile = regexp.MustCompile(`^.*\.(yaml|yml|json|jsonnet)$`)

// skipMarker in a file keeps it out of a directory source.
const skipMarker = "+argocd:skip-file-rendering"

// directory renders a plain directory as the repo server's findManifests
// does: files in name order, subfolders only with recurse, include and
// exclude globs on the path below the app's folder (gobwas/glob, no
// separator: * crosses folders), .json as one object, YAML as a stream,
// .jsonnet evaluated; a YAML file that does not parse is skipped unless
// it looks like a manifest.
func directory(src *ApplicationSource, files fs.FS, appPath string, e env) ([]Object, error) {
	d := src.Directory
	if d == nil {
		d = &ApplicationSourceDirectory{}
	}
	var out []Object
	err := fs.WalkDir(files, appPath, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if p != appPath && !d.Recurse {
				return fs.SkipDir
			}
			return nil
		}
		data, ok, err := candidate(files, p, de, appPath, d)
		if err != nil || !ok {
			return err
		}
		objs, err := fileObjects(files, p, data, appPath, d, e)
		if err != nil {
			return err
		}
		for _, o := range objs {
			out = append(out, Object{Object: o, Path: p})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to get potentially valid manifests: %w", err)
	}
	return out, nil
}

// candidate reads p if it is a manifest the directory source reads
// (getPotentiallyValidManifestFile).
func candidate(files fs.FS, p string, de fs.DirEntry, appPath string, d *ApplicationSourceDirectory) ([]byte, bool, error) {
	if !d.DisableExtensionFilter && !manifestFile.MatchString(de.Name()) {
		return nil, false, nil
	}
	if !de.Type().IsRegular() {
		return nil, false, nil
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p, appPath), "/")
	if appPath == "." {
		rel = p
	}
	if d.Exclude != "" && globMatch(d.Exclude, rel) {
		return nil, false, nil
	}
	if d.Include != "" && !globMatch(d.Include, rel) {
		return nil, false, nil
	}
	data, err := fs.ReadFile(files, p)
	if err != nil {
		return nil, false, fmt.Errorf("failed to read %q: %w", rel, err)
	}
	if bytes.Contains(data, []byte(skipMarker)) {
		return nil, false, nil
	}
	return data, true, nil
}

// globMatch is Argo CD's glob.Match: a pattern that does not compile
// matches nothing.
func globMatch(pattern, text string) bool {
	g, err := glob.Compile(pattern)
	return err == nil && g.Match(text)
}

// fileObjects parses one file of a directory source.
func fileObjects(files fs.FS, p string, data []byte, appPath string, d *ApplicationSourceDirectory, e env) ([]map[string]any, error) {
	name := path.Base(p)
	switch {
	case strings.HasSuffix(name, ".jsonnet"):
		return evalJsonnet(files, p, appPath, d.Jsonnet, e)
	case strings.HasSuffix(name, ".json"):
		return jsonFile(name, data)
	}
	objs, err := splitYAML(bytes.NewReader(data))
	if err != nil {
		if len(objs) > 0 || looksLikeManifest(data) {
			return nil, fmt.Errorf("failed to unmarshal %q: %w", name, err)
		}
		return nil, nil // an unrelated YAML file
	}
	return objs, nil
}

func looksLikeManifest(data []byte) bool {
	return bytes.Contains(data, []byte("apiVersion:")) && bytes.Contains(data, []byte("kind:")) && bytes.Contains(data, []byte("metadata:"))
}

// jsonFile reads a .json file: exactly one object.
func jsonFile(name string, data []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var u unstructured.Unstructured
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("failed to unmarshal %q: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("found multiple objects in %q. Only single objects are allowed in JSON files", name)
	}
	return []map[string]any{u.Object}, nil
}

// splitYAML decodes each document into an object, as the repo server's
// splitYAMLOrJSON: null documents skipped, a document that is no object
// with a kind an error; what was read before an error is returned.
func splitYAML(r io.Reader) ([]map[string]any, error) {
	d := kubeyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []map[string]any
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return objs, fmt.Errorf("failed to unmarshal manifest: %w", err)
		}
		if u == nil {
			continue
		}
		objs = append(objs, u.Object)
	}
}
