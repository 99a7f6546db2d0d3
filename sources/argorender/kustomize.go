package argorender

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/kustomize/v5/commands/edit"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomize renders a kustomize source as Argo CD's repo server does
// (util/kustomize Build): the Application's overrides applied by
// kustomize's own `edit` commands in the app's folder, in Argo CD's
// order, then `kustomize build <app path>` with kustomize's defaults
// (load restrictions to the root, built-in plugins only, no Helm).
// gitgate builds in memory with kustomize v5.8.1's library; Argo CD
// v3.6.2 ships the kustomize v5.8.3 command.
func (r *run) kustomize(src *ApplicationSource, files fs.FS, appPath string, e env) ([]Object, error) {
	if o := r.in.Settings.KustomizeBuildOptions; o != "" {
		return nil, fmt.Errorf("kustomize.buildOptions %q: %w", o, ErrUnsupported)
	}
	k := src.Kustomize
	if k != nil && k.Version != "" {
		return nil, fmt.Errorf("kustomize version %q (another kustomize binary): %w", k.Version, ErrUnsupported)
	}
	roots := []string{appPath}
	if k != nil {
		for _, c := range k.Components {
			if p := path.Join(appPath, c); !isRemote(c) && p != ".." && !strings.HasPrefix(p, "../") {
				roots = append(roots, p)
			}
		}
	}
	mem, err := memFS(files, roots...)
	if err != nil {
		return nil, err
	}
	dir := "/" + strings.TrimPrefix(appPath, ".")
	if appPath == "." {
		dir = "/"
	}
	if k != nil {
		if err := applyEdits(cwdFS{FileSystem: mem, dir: dir}, k, e); err != nil {
			return nil, err
		}
	}
	if err := checkLocal(mem, dir); err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, dir)
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, m.Size())
	for _, res := range m.Resources() {
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("%s: %w", res.CurId(), err)
		}
		out = append(out, Object{Object: u.Object, Path: appPath})
	}
	return out, nil
}

// applyEdits runs, in the app's folder, what Argo CD's Build runs before
// the build, in its order: set nameprefix, namesuffix, image, replicas;
// add label, annotation; set namespace; the patches appended to the
// kustomization file; add component.
func applyEdits(cwd cwdFS, k *ApplicationSourceKustomize, e env) error {
	var calls [][]string
	if k.NamePrefix != "" {
		calls = append(calls, []string{"set", "nameprefix", "--", k.NamePrefix})
	}
	if k.NameSuffix != "" {
		calls = append(calls, []string{"set", "namesuffix", "--", k.NameSuffix})
	}
	if len(k.Images) > 0 {
		args := []string{"set", "image"}
		for _, img := range k.Images {
			args = append(args, e.subst(img))
		}
		calls = append(calls, args)
	}
	if len(k.Replicas) > 0 {
		args := []string{"set", "replicas"}
		for _, rep := range k.Replicas {
			n, err := rep.IntCount()
			if err != nil {
				return err
			}
			args = append(args, fmt.Sprintf("%s=%d", rep.Name, n))
		}
		calls = append(calls, args)
	}
	calls = append(calls, metadataEdits(k, e)...)
	if err := runEdits(cwd, calls); err != nil {
		return err
	}
	calls = nil
	if k.Namespace != "" {
		calls = append(calls, []string{"set", "namespace", "--", k.Namespace})
	}
	if err := runEdits(cwd, calls); err != nil {
		return err
	}
	if len(k.Patches) > 0 {
		if err := appendPatches(cwd, k.Patches); err != nil {
			return err
		}
	}
	return addComponents(cwd, k)
}

// metadataEdits are `edit add label` and `edit add annotation` with
// Argo CD's flags (kustomize v3.8.5 and later take one key:value per
// argument).
func metadataEdits(k *ApplicationSourceKustomize, e env) [][]string {
	var calls [][]string
	if len(k.CommonLabels) > 0 {
		args := []string{"add", "label"}
		if k.ForceCommonLabels {
			args = append(args, "--force")
		}
		if k.LabelWithoutSelector {
			args = append(args, "--without-selector")
		}
		if k.LabelIncludeTemplates {
			args = append(args, "--include-templates")
		}
		calls = append(calls, append(args, keyValues(k.CommonLabels, e.subst)...))
	}
	if len(k.CommonAnnotations) > 0 {
		args := []string{"add", "annotation"}
		if k.ForceCommonAnnotations {
			args = append(args, "--force")
		}
		subst := func(s string) string { return s }
		if k.CommonAnnotationsEnvsubst {
			subst = e.subst
		}
		calls = append(calls, append(args, keyValues(k.CommonAnnotations, subst)...))
	}
	return calls
}

func keyValues(m map[string]string, subst func(string) string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+":"+subst(v))
	}
	sort.Strings(out)
	return out
}

// runEdits runs kustomize's own `kustomize edit` command with each
// argument list, in memory.
func runEdits(cwd cwdFS, calls [][]string) error {
	pvd := provider.NewDefaultDepProvider()
	for _, args := range calls {
		c := edit.NewCmdEdit(cwd, pvd.GetFieldValidator(), pvd.GetResourceFactory(), io.Discard)
		c.SilenceUsage, c.SilenceErrors = true, true
		c.SetOut(io.Discard)
		c.SetErr(io.Discard)
		c.SetArgs(args)
		if err := c.Execute(); err != nil {
			return fmt.Errorf("kustomize edit %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

// appendPatches appends the Application's patches to the kustomization
// file's patches, as Argo CD does (there is no `kustomize edit` for it):
// the file read as YAML, patches appended, written back.
func appendPatches(cwd cwdFS, patches []json.RawMessage) error {
	name := kustomizationFile(cwd)
	if name == "" {
		return errors.New("kustomization file not found in the path")
	}
	b, err := cwd.ReadFile(name)
	if err != nil {
		return fmt.Errorf("failed to load kustomization.yaml: %w", err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("failed to unmarshal kustomization.yaml: %w", err)
	}
	if k == nil {
		return fmt.Errorf("expected kustomization.yaml to be type map[string]any")
	}
	list, ok := k["patches"].([]any)
	if _, has := k["patches"]; has && !ok {
		return fmt.Errorf("expected 'patches' field in kustomization.yaml to be []any, but got %T", k["patches"])
	}
	for _, p := range patches {
		var v any
		if err := yaml.Unmarshal(p, &v); err != nil {
			return err
		}
		list = append(list, v)
	}
	k["patches"] = list
	out, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	return cwd.WriteFile(name, out)
}

func kustomizationFile(fsys filesys.FileSystem) string {
	for _, n := range kustomizationNames {
		if fsys.Exists(n) {
			return n
		}
	}
	return ""
}

// addComponents runs `edit add component` with the Application's
// components; with ignoreMissingComponents only those whose folder holds
// a kustomization file. A component kustomize would fetch is refused.
func addComponents(cwd cwdFS, k *ApplicationSourceKustomize) error {
	var found []string
	for _, c := range k.Components {
		if isRemote(c) {
			return fmt.Errorf("component %q: %w", c, errRemote)
		}
		if !k.IgnoreMissingComponents || kustomizationFile(cwdFS{FileSystem: cwd.FileSystem, dir: path.Join(cwd.dir, c)}) != "" {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return nil
	}
	return runEdits(cwd, [][]string{append([]string{"add", "component"}, found...)})
}
