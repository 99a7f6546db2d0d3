package argorender

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"sigs.k8s.io/yaml"
)

// Source types, as Argo CD names them.
const (
	typeDirectory = "Directory"
	typeHelm      = "Helm"
	typeKustomize = "Kustomize"
)

// kustomizationNames are the file names kustomize (and Argo CD's
// discovery) recognize.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// appDir is the source's path within its repository, cleaned; a path
// that leaves the repository or names no directory fails, as the repo
// server's path check does.
func appDir(files fs.FS, p string) (string, error) {
	clean := path.Clean("/" + p)
	dir := strings.TrimPrefix(clean, "/")
	if dir == "" {
		dir = "."
	}
	if strings.HasPrefix(path.Clean(p), "..") {
		return "", fmt.Errorf("%s: path is outside the repository: %w", p, ErrNoPath)
	}
	st, err := fs.Stat(files, dir)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s: %w", p, ErrNoPath)
	}
	return dir, nil
}

// mergeSourceParameters applies .argocd-source.yaml, then
// .argocd-source-<app>.yaml, of the app's path as JSON merge patches of
// the source, keeping its chart, path, repoURL and targetRevision
// (reposerver/repository mergeSourceParameters).
func mergeSourceParameters(src *ApplicationSource, files fs.FS, appPath, appName string) error {
	overrides := []string{path.Join(appPath, ".argocd-source.yaml")}
	if appName != "" {
		overrides = append(overrides, path.Join(appPath, ".argocd-source-"+appName+".yaml"))
	}
	merged := *src
	for _, name := range overrides {
		st, err := fs.Stat(files, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return err
		case st.IsDir():
			continue
		}
		patch, err := fs.ReadFile(files, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if merged, err = mergeSource(merged, patch); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	merged.Chart, merged.Path, merged.RepoURL, merged.TargetRevision = src.Chart, src.Path, src.RepoURL, src.TargetRevision
	*src = merged
	return nil
}

func mergeSource(src ApplicationSource, patchYAML []byte) (ApplicationSource, error) {
	data, err := json.Marshal(src)
	if err != nil {
		return src, err
	}
	patch, err := yaml.YAMLToJSON(patchYAML)
	if err != nil {
		return src, err
	}
	if data, err = jsonpatch.MergePatch(data, patch); err != nil {
		return src, err
	}
	var out ApplicationSource
	if err := json.Unmarshal(data, &out); err != nil {
		return src, err
	}
	return out, nil
}

// sourceType is the source's explicit type (one of helm, kustomize,
// directory, plugin), or the type Argo CD discovers in the app's path:
// Helm for a file whose name ends in Chart.yaml, Kustomize for a
// kustomization file, the last of them in name order winning (discovery
// walks the folder in lexical order and overwrites), Directory else
// (util/app/discovery Discover and AppType).
func sourceType(src *ApplicationSource, files fs.FS, appPath string) (string, error) {
	var explicit []string
	if src.Kustomize != nil {
		explicit = append(explicit, typeKustomize)
	}
	if src.Helm != nil {
		explicit = append(explicit, typeHelm)
	}
	if src.Directory != nil {
		explicit = append(explicit, typeDirectory)
	}
	switch len(explicit) {
	case 1:
		return explicit[0], nil
	case 0:
	default:
		return "", fmt.Errorf("multiple application sources defined: %s", strings.Join(explicit, ","))
	}
	entries, err := fs.ReadDir(files, appPath)
	if err != nil {
		return "", err
	}
	typ := typeDirectory
	for _, e := range entries { // sorted by name
		switch {
		case e.IsDir():
		case strings.HasSuffix(e.Name(), "Chart.yaml"):
			typ = typeHelm
		case slices.Contains(kustomizationNames, e.Name()):
			typ = typeKustomize
		}
	}
	return typ, nil
}
