package argorender

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// errRemote: kustomize would fetch this (git clone, HTTP) rather than
// read it from the source's commit. Argo CD allows it; gitgate declares
// only what Git holds, so the render fails.
var errRemote = fmt.Errorf("a remote base, component or URL: %w", ErrUnsupported)

// checkLocal walks the kustomization in dir and every kustomization it
// reaches, and refuses any reference that is not a file or folder of the
// repository: kustomize would try to fetch it.
func checkLocal(fsys filesys.FileSystem, dir string) error {
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		kfile, refs, err := kustomizationRefs(fsys, dir)
		if err != nil || kfile == "" {
			return err
		}
		for _, r := range refs {
			p := path.Join(dir, r)
			if isRemote(r) || !fsys.Exists(p) {
				return fmt.Errorf("%s: %q: %w", strings.TrimPrefix(kfile, "/"), r, errRemote)
			}
			if fsys.IsDir(p) {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(dir)
}

// kustomizationRefs reads the kustomization file of dir, if any, and
// returns every entry that names a file, a folder or a URL.
func kustomizationRefs(fsys filesys.FileSystem, dir string) (string, []string, error) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		kfile := path.Join(dir, n)
		if !fsys.Exists(kfile) {
			continue
		}
		data, err := fsys.ReadFile(kfile)
		if err != nil {
			return "", nil, err
		}
		var k kustypes.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			return "", nil, fmt.Errorf("%s: %w", strings.TrimPrefix(kfile, "/"), err)
		}
		return kfile, references(&k), nil
	}
	return "", nil, nil
}

// references lists the entries of k that name files, folders or URLs,
// deprecated fields included (kustomize v5 still reads them); inline
// entries (YAML patches, generator configurations) are left out.
func references(k *kustypes.Kustomization) []string {
	refs := append(append(append([]string{}, k.Resources...), k.Bases...), k.Components...) //nolint:staticcheck // bases: still read
	refs = append(append(refs, k.Crds...), k.Configurations...)
	for _, l := range [][]string{k.Generators, k.Transformers, k.Validators} {
		refs = append(refs, pathsOnly(l)...)
	}
	for _, p := range k.PatchesStrategicMerge { //nolint:staticcheck // still read
		refs = append(refs, pathsOnly([]string{string(p)})...)
	}
	for _, p := range append(append([]kustypes.Patch{}, k.Patches...), k.PatchesJson6902...) { //nolint:staticcheck // still read
		refs = append(refs, p.Path)
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	gens := append([]kustypes.ConfigMapArgs{}, k.ConfigMapGenerator...)
	for _, s := range k.SecretGenerator {
		gens = append(gens, kustypes.ConfigMapArgs{GeneratorArgs: s.GeneratorArgs})
	}
	for _, g := range gens {
		for _, f := range g.FileSources {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			refs = append(refs, f)
		}
		refs = append(append(refs, g.EnvSources...), g.EnvSource) //nolint:staticcheck // env: still read
	}
	if p, ok := k.OpenAPI["path"]; ok {
		refs = append(refs, p)
	}
	var out []string
	for _, r := range refs {
		if strings.TrimSpace(r) != "" {
			out = append(out, r)
		}
	}
	return out
}

func pathsOnly(l []string) []string {
	var out []string
	for _, s := range l {
		if !strings.Contains(s, "\n") {
			out = append(out, s)
		}
	}
	return out
}

// isRemote reports what kustomize would fetch rather than read: a URL
// (any scheme), git::, gh:, github.com/ paths and scp-like user@host:path.
func isRemote(r string) bool {
	l := strings.ToLower(r)
	if strings.Contains(l, "://") || strings.HasPrefix(l, "git::") || strings.HasPrefix(l, "gh:") ||
		strings.HasPrefix(l, "github.com") || strings.HasPrefix(l, "git@") {
		return true
	}
	at, colon := strings.Index(l, "@"), strings.Index(l, ":")
	return at > 0 && colon > at
}
