package cli

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxlocal"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// writeFluxRoots prints a --source flux render root by root: a header
// naming the root, the objects it declares as gitgate indexes them (what
// check and drift hold the cluster to), a HelmRelease's hooks apart, and
// a failed or skipped root's reason.
func writeFluxRoots(w io.Writer, src *loadedSource) error {
	res, snap := src.Flux, src.Snapshot
	fmt.Fprintf(w, "# revision %s of %s: %d roots, %d objects\n", res.Revision, src.Repo, len(res.Roots), snap.Len())
	byRoot := map[string][]*provenance.Entry{}
	for _, e := range snap.Entries() {
		for _, d := range snap.Declarations(e.Key) {
			byRoot[d.Root.Name] = append(byRoot[d.Root.Name], d)
		}
	}
	for _, rt := range res.Roots {
		if err := writeFluxRoot(w, rt, byRoot[rt.String()]); err != nil {
			return err
		}
	}
	return nil
}

func writeFluxRoot(w io.Writer, rt *fluxlocal.Root, entries []*provenance.Entry) error {
	fmt.Fprintf(w, "# root %s%s\n", rt, rootOrigin(rt))
	switch {
	case rt.Err != nil:
		fmt.Fprintf(w, "# FAILED: %s\n", oneLine(rt.Err.Error()))
		return nil
	case rt.Skipped != "":
		fmt.Fprintf(w, "# not rendered: %s\n", rt.Skipped)
		return nil
	}
	if h := rt.Helm; h != nil {
		writeReleaseHeader(w, h)
	}
	fmt.Fprintf(w, "# %d objects declared\n", len(entries))
	notes := objectNotes(rt)
	for _, e := range entries {
		data, err := yaml.Marshal(e.Object())
		if err != nil {
			return fmt.Errorf("%s: %w", e.Key, err)
		}
		fmt.Fprintf(w, "---\n# %s from %s\n", e.Key, e.Origin())
		if e.AgentOnly {
			fmt.Fprintln(w, "# agent only: its values are the agent's (a Secret it decrypts, or an object the chart renders only some of the time); declared by its identity")
		}
		for _, n := range notes[e.Key] {
			fmt.Fprintf(w, "# %s\n", n)
		}
		fmt.Fprint(w, string(data))
	}
	for _, o := range rt.Objects {
		if o.NotEnforced != "" {
			fmt.Fprintf(w, "# not declared: %s: %s\n", keyOf(o.Object), o.NotEnforced)
		}
	}
	if rt.Helm != nil {
		return writeHooks(w, rt)
	}
	return nil
}

// rootOrigin says where a root comes from: its source and the root that
// declares it.
func rootOrigin(rt *fluxlocal.Root) string {
	var parts []string
	if rt.Synthetic {
		parts = append(parts, "rendered as Kustomization flux-system/flux-system would render it")
	}
	if rt.Source != "" {
		parts = append(parts, "from "+rt.Source)
	}
	if rt.DeclaredBy != "" {
		parts = append(parts, "declared by "+rt.DeclaredBy)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// writeReleaseHeader names what a HelmRelease's render is made of.
func writeReleaseHeader(w io.Writer, h *helmrender.Result) {
	fmt.Fprintf(w, "# chart %s version %s, config digest %s\n", h.ChartName, h.ChartVersion, h.ConfigDigest)
	if h.OCIDigest != "" {
		fmt.Fprintf(w, "# OCI digest %s\n", h.OCIDigest)
	}
	fmt.Fprintf(w, "# release %s/%s, revision %d: rendered as a fresh install, since status.history is not known offline\n", h.Namespace, h.ReleaseName, h.Target.Revision)
	if h.Lookup {
		fmt.Fprintln(w, "# a template called lookup: rendered against an empty cluster, so the agent's render may hold other objects or values")
	}
	if h.HideValues {
		fmt.Fprintln(w, "# values come from a Secret: any value below may be secret")
	}
}

// objectNotes are the comments an object of a HelmRelease carries: its
// indeterminate fields and a call of lookup.
func objectNotes(rt *fluxlocal.Root) map[provenance.Key][]string {
	out := map[provenance.Key][]string{}
	for _, o := range rt.Objects {
		k := keyOf(o.Object)
		var ptrs []string
		for _, p := range o.Indeterminate {
			if p != "" {
				ptrs = append(ptrs, p)
			}
		}
		if len(ptrs) > 0 {
			out[k] = append(out[k], "indeterminate (the chart renders them differently every time; any value is the agent's): "+strings.Join(ptrs, ", "))
		}
		if o.Lookup {
			out[k] = append(out[k], "its template called lookup: rendered against an empty cluster")
		}
	}
	return out
}

// writeHooks prints a HelmRelease's hooks, which gitgate never declares.
func writeHooks(w io.Writer, rt *fluxlocal.Root) error {
	hooks := rt.Helm.Hooks
	if len(hooks) == 0 {
		return nil
	}
	fmt.Fprintf(w, "# %d hooks of %s: transient, not declared (the agent creates them during an install or upgrade and deletes them by their delete policy)\n", len(hooks), rt)
	for _, h := range hooks {
		data, err := yaml.Marshal(h.Object)
		if err != nil {
			return fmt.Errorf("hook %s: %w", keyOf(h.Object), err)
		}
		fmt.Fprintf(w, "---\n# hook %s from %s\n%s", keyOf(h.Object), h.Source, data)
	}
	return nil
}

// keyOf names a rendered object.
func keyOf(obj map[string]any) provenance.Key {
	v := describe("", obj)
	gk := schema.FromAPIVersionAndKind(v.APIVersion, v.Kind).GroupKind()
	return provenance.Key{Group: gk.Group, Kind: gk.Kind, Namespace: v.Namespace, Name: v.Name}
}

// oneLine keeps a multi-line error on one comment line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
