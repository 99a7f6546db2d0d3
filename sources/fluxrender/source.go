package fluxrender

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	generator "github.com/fluxcd/pkg/kustomize"
	"sigs.k8s.io/kustomize/api/konfig"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// ErrRemoteBase: a remote base or URL would make the objects depend on
// another repository or server (and kustomize would run git or fetch over
// HTTP). Flux allows them unless --no-remote-bases; gitgate refuses them.
var ErrRemoteBase = errors.New("remote bases and URLs are not allowed")

// checkLocal walks the kustomization in dir and every kustomization it
// reaches, and refuses a reference kustomize would fetch rather than read.
// Paths out of root are left to the build, whose filesystem refuses them.
func checkLocal(root, dir string) error {
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		kfile, refs, err := kustomizationRefs(dir)
		if err != nil || kfile == "" {
			return err
		}
		for _, r := range refs {
			if isRemote(r) {
				return fmt.Errorf("%s: %q: %w", relTo(root, kfile), r, ErrRemoteBase)
			}
			p := filepath.Join(dir, filepath.FromSlash(r))
			if st, err := os.Stat(p); err == nil && st.IsDir() && within(root, p) {
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
// returns every entry that names a file, a directory or a URL.
func kustomizationRefs(dir string) (string, []string, error) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		kfile := filepath.Join(dir, n)
		data, err := os.ReadFile(kfile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		var k kustypes.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			return "", nil, fmt.Errorf("%s: %w", n, err)
		}
		return kfile, references(&k), nil
	}
	return "", nil, nil
}

// references lists the entries of k that name files, directories or URLs,
// deprecated fields (bases, patchesStrategicMerge, patchesJson6902, env)
// included: kustomize v5 still reads them. Inline entries (YAML patches,
// generator configs) are left out.
func references(k *kustypes.Kustomization) []string {
	refs := append(append(append([]string{}, k.Resources...), k.Bases...), k.Components...)
	refs = append(append(refs, k.Crds...), k.Configurations...)
	for _, l := range [][]string{k.Generators, k.Transformers, k.Validators} {
		refs = append(refs, pathsOnly(l)...)
	}
	for _, p := range k.PatchesStrategicMerge {
		refs = append(refs, pathsOnly([]string{string(p)})...)
	}
	for _, p := range append(append([]kustypes.Patch{}, k.Patches...), k.PatchesJson6902...) {
		refs = append(refs, p.Path)
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	for _, g := range append(append([]kustypes.ConfigMapArgs{}, k.ConfigMapGenerator...), secretArgs(k)...) {
		for _, f := range g.FileSources {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			refs = append(refs, f)
		}
		refs = append(append(refs, g.EnvSources...), g.EnvSource)
	}
	if p, ok := k.OpenAPI["path"]; ok {
		refs = append(refs, p)
	}
	return nonEmpty(refs)
}

// secretArgs gives the secret generators in the shape of ConfigMap ones:
// both hold their sources in GeneratorArgs.
func secretArgs(k *kustypes.Kustomization) []kustypes.ConfigMapArgs {
	out := make([]kustypes.ConfigMapArgs, 0, len(k.SecretGenerator))
	for _, s := range k.SecretGenerator {
		out = append(out, kustypes.ConfigMapArgs{GeneratorArgs: s.GeneratorArgs})
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

func nonEmpty(l []string) []string {
	out := l[:0]
	for _, s := range l {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// isRemote reports what kustomize would fetch rather than read: what Flux's
// generator calls non-local (git::, gh:, ssh://, https://, http://, git@,
// github.com), any other URL scheme, and scp-like user@host:path.
func isRemote(r string) bool {
	l := strings.ToLower(strings.TrimPrefix(r, "file://"))
	if path.IsAbs(l) {
		return false // a local path: the build's filesystem confines it
	}
	if strings.Contains(l, "://") || !generator.IsLocalRelativePath(r) {
		return true
	}
	at, colon := strings.Index(l, "@"), strings.Index(l, ":")
	return at > 0 && colon > at
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func relTo(root, p string) string {
	if rel, err := filepath.Rel(root, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}
