package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
)

// Kustomize refusals. Each is a render failure: the revision is refused and
// the last good one stays. They exist because gitgate must render exactly
// what is in the commit it names, from nothing but that commit.
var (
	// ErrRemoteBase: a remote base would make the rendered objects depend
	// on another repository (and kustomize would run the git binary).
	ErrRemoteBase = errors.New("remote bases and URLs are not allowed")
	// ErrEscapesRepo: a path outside the repository is not in the commit.
	ErrEscapesRepo = errors.New("path escapes the repository")
	// ErrNotInRepo: the kustomization names a path the commit lacks.
	ErrNotInRepo = errors.New("not found in the repository")
	// ErrHelm: helmCharts run the helm binary and fetch charts.
	ErrHelm = errors.New("helmCharts are not allowed")
)

// kustomizationNames are the file names kustomize looks for, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// isKustomizationFile reports whether a path names a kustomization file.
func isKustomizationFile(p string) bool {
	base := path.Base(p)
	for _, n := range kustomizationNames {
		if base == n {
			return true
		}
	}
	return false
}

// kustomizationRefs are the fields of a kustomization that name files or
// directories. Every one is checked before kustomize runs.
type kustomizationRefs struct {
	Resources             []string        `json:"resources"`
	Bases                 []string        `json:"bases"`
	Components            []string        `json:"components"`
	Crds                  []string        `json:"crds"`
	Configurations        []string        `json:"configurations"`
	Generators            []string        `json:"generators"`
	Transformers          []string        `json:"transformers"`
	Validators            []string        `json:"validators"`
	PatchesStrategicMerge []string        `json:"patchesStrategicMerge"`
	Patches               []pathRef       `json:"patches"`
	PatchesJSON6902       []pathRef       `json:"patchesJson6902"`
	Replacements          []pathRef       `json:"replacements"`
	ConfigMapGenerator    []generatorRefs `json:"configMapGenerator"`
	SecretGenerator       []generatorRefs `json:"secretGenerator"`
	OpenAPI               map[string]any  `json:"openapi"`
	HelmCharts            []any           `json:"helmCharts"`
}

type pathRef struct {
	Path string `json:"path"`
}

type generatorRefs struct {
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
	Env   string   `json:"env"`
}

// kustomizeInputs collects the files a kustomize root reads, checking every
// reference against the commit's tree.
type kustomizeInputs struct {
	tree  *object.Tree
	files map[string]plumbing.Hash
	seen  map[string]bool
}

// collectKustomize returns every file the kustomization in dir reads,
// following bases and components, by path and blob hash.
func collectKustomize(tree *object.Tree, dir string) (map[string]plumbing.Hash, error) {
	in := &kustomizeInputs{tree: tree, files: map[string]plumbing.Hash{}, seen: map[string]bool{}}
	if err := in.dir(dir); err != nil {
		return nil, err
	}
	return in.files, nil
}

// kustomizationIn returns the kustomization file of dir, or "".
func kustomizationIn(tree *object.Tree, dir string) string {
	for _, n := range kustomizationNames {
		p := path.Join(dir, n)
		if e, err := tree.FindEntry(p); err == nil && e.Mode.IsFile() {
			return p
		}
	}
	return ""
}

func (in *kustomizeInputs) dir(dir string) error {
	if in.seen[dir] {
		return nil
	}
	in.seen[dir] = true
	kfile := kustomizationIn(in.tree, dir)
	if kfile == "" {
		return fmt.Errorf("%s: no kustomization.yaml: %w", displayDir(dir), ErrNotInRepo)
	}
	data, err := in.read(kfile)
	if err != nil {
		return err
	}
	var k kustomizationRefs
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: %w", kfile, err)
	}
	if len(k.HelmCharts) > 0 {
		return fmt.Errorf("%s: %w", kfile, ErrHelm)
	}
	for _, l := range k.lists() {
		for _, r := range l.refs {
			if r == "" || (l.inline && strings.Contains(r, "\n")) {
				continue // inline patch or plugin config, read by kustomize itself
			}
			if err := in.ref(kfile, dir, l.field, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// refList is one field of a kustomization that names files or directories.
type refList struct {
	field string
	refs  []string
	// inline: an entry may be YAML rather than a path.
	inline bool
}

// lists gives every field of k that names files or directories.
func (k *kustomizationRefs) lists() []refList {
	lists := []refList{
		{"resources", k.Resources, false}, {"bases", k.Bases, false}, {"components", k.Components, false},
		{"crds", k.Crds, false}, {"configurations", k.Configurations, false},
		{"generators", k.Generators, true}, {"transformers", k.Transformers, true}, {"validators", k.Validators, true},
		{"patchesStrategicMerge", k.PatchesStrategicMerge, true},
		{"patches", paths(k.Patches), false}, {"patchesJson6902", paths(k.PatchesJSON6902), false},
		{"replacements", paths(k.Replacements), false},
	}
	for _, g := range append(k.ConfigMapGenerator, k.SecretGenerator...) {
		var files []string
		for _, f := range g.Files {
			// files: [key=path] or [path]
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			files = append(files, f)
		}
		lists = append(lists, refList{"generator files", append(append(files, g.Envs...), g.Env), false})
	}
	if p, _ := k.OpenAPI["path"].(string); p != "" {
		lists = append(lists, refList{"openapi", []string{p}, false})
	}
	return lists
}

func paths(refs []pathRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Path)
	}
	return out
}

// ref checks one reference and records what it names.
func (in *kustomizeInputs) ref(kfile, dir, field, r string) error {
	if looksRemote(r) {
		return fmt.Errorf("%s: %s %q: %w", kfile, field, r, ErrRemoteBase)
	}
	if path.IsAbs(r) {
		return fmt.Errorf("%s: %s %q: %w", kfile, field, r, ErrEscapesRepo)
	}
	p := path.Join(dir, r)
	if p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("%s: %s %q: %w", kfile, field, r, ErrEscapesRepo)
	}
	if p == "." {
		p = ""
	}
	if p == "" {
		return in.dir("")
	}
	e, err := in.tree.FindEntry(p)
	if err != nil {
		return fmt.Errorf("%s: %s %q: %w", kfile, field, r, ErrNotInRepo)
	}
	switch {
	case e.Mode == filemode.Dir:
		return in.dir(p)
	case e.Mode == filemode.Symlink:
		// A symlink could point anywhere, including outside the repository.
		return fmt.Errorf("%s: %s %q is a symbolic link: %w", kfile, field, r, ErrEscapesRepo)
	case e.Mode.IsFile():
		in.files[p] = e.Hash
		return nil
	}
	return fmt.Errorf("%s: %s %q is a submodule: %w", kfile, field, r, ErrNotInRepo)
}

// read reads a file of the tree and records it as an input.
func (in *kustomizeInputs) read(p string) ([]byte, error) {
	f, err := in.tree.File(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	in.files[p] = f.Hash
	return readBlob(f)
}

// readBlob reads a file of the tree, refusing one over maxManifestBytes
// before reading it.
func readBlob(f *object.File) ([]byte, error) {
	if f.Size > maxManifestBytes {
		return nil, fmt.Errorf("%s: %d bytes is %w", f.Name, f.Size, errTooLarge)
	}
	r, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// looksRemote reports what kustomize would fetch rather than read: URLs,
// scp-like addresses and github.com paths (see kustomize's
// api/internal/git/repospec.go NewRepoSpecFromURL and
// api/internal/loader/fileloader.go IsRemoteFile).
func looksRemote(r string) bool {
	l := strings.ToLower(r)
	if strings.Contains(l, "://") || strings.HasPrefix(l, "git::") || strings.HasPrefix(l, "github.com") {
		return true
	}
	at, colon := strings.Index(l, "@"), strings.Index(l, ":")
	return at > 0 && colon > at
}

func displayDir(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// inputsKey hashes the paths and blob hashes of a root's inputs.
func inputsKey(files map[string]plumbing.Hash) string {
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		hash := files[p]
		fmt.Fprintf(h, "%s\x00%s\n", p, hash)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// renderKustomize renders the kustomize root dir of tree, unless reuse
// says its inputs are unchanged. It reports whether it built.
func renderKustomize(tree *object.Tree, dir string, reuse Reuse) (provenance.File, bool, error) {
	name := displayDir(dir)
	inputs, err := collectKustomize(tree, dir)
	if err != nil {
		return provenance.File{}, false, err
	}
	key := inputsKey(inputs)
	if reuse(name, key) {
		return provenance.File{Path: name, Kustomize: true, ID: key}, false, nil
	}
	objs, err := runKustomize(tree, dir, inputs)
	if err != nil {
		return provenance.File{}, true, fmt.Errorf("kustomize build %s: %w", displayDir(dir), err)
	}
	if objs == nil {
		objs = []map[string]any{} // built to nothing: not a cached root
	}
	return provenance.File{Path: name, Kustomize: true, ID: key, Objects: objs}, true, nil
}

// runKustomize runs krusty over an in-memory filesystem that holds only the
// root's checked inputs. Only built-in plugins run: no exec or KRM function
// plugins, no helm.
func runKustomize(tree *object.Tree, dir string, inputs map[string]plumbing.Hash) ([]map[string]any, error) {
	fs := filesys.MakeFsInMemory()
	for p := range inputs {
		f, err := tree.File(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		data, err := readBlob(f)
		if err != nil {
			return nil, err
		}
		if err := fs.WriteFile("/"+p, data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	k := krusty.MakeKustomizer(KrustyOptions())
	rm, err := k.Run(fs, "/"+dir)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, rm.Size())
	for _, r := range rm.Resources() {
		// Through JSON, so numbers have the types ParseManifests gives
		// plain files (int64, float64), not YAML's int.
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		objs, err := ParseManifests(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// KrustyOptions are the kustomize options gitgate renders with: kustomize's
// defaults (load restrictions to the root, built-in plugins only). Tests use
// them to compare against kustomize's own output.
func KrustyOptions() *krusty.Options {
	return krusty.MakeDefaultOptions()
}
