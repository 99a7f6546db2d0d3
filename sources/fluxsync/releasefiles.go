package fluxsync

import (
	"fmt"
	"strconv"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// releaseRecordFile names Helm's release records in denials.
const releaseRecordFile = "Helm release record"

// releaseFiles turns a render into the root's files, one object each, so
// that each carries its own indeterminate fields and ignore rules:
//   - what the agent applies and keeps, but what it only creates when
//     absent and never corrects (a CRD under the Create policy, the
//     Namespace install.createNamespace makes), which a person's change
//     leaves as helm-controller leaves it; an object whose template
//     called lookup is indeterminate as a whole; one whose identity the
//     render cannot reproduce (a random name) is left out, since its key
//     is not known;
//   - the hooks and tests, transient and the agent's alone, by identity;
//   - Helm's record of each release status.history lists (the Secret
//     sh.helm.release.v1.<release>.v<version> in the storage namespace),
//     transient and the agent's alone: rewriting one changes what Helm
//     takes for the release, deleting the latest makes it install anew.
func releaseFiles(hr *helmv2.HelmRelease, res *helmrender.Result, key string) []provenance.File {
	var files []provenance.File
	for i, o := range res.Objects {
		if o.CreateOnly || provenance.IdentityIndeterminate(o.Indeterminate) {
			continue
		}
		f := provenance.File{Path: chartFileOf(res, o), ID: key + "#" + strconv.Itoa(i), Objects: []map[string]any{o.Object},
			HideValues: res.HideValues, Indeterminate: o.Indeterminate, Ignore: ignoredIn(res.Ignore, o.Object)}
		if o.Lookup {
			f.Indeterminate = []string{""}
		}
		files = append(files, f)
	}
	for i, o := range res.Hooks {
		if provenance.IdentityIndeterminate(o.Indeterminate) {
			continue
		}
		files = append(files, provenance.File{Path: chartFileOf(res, o), ID: key + "#hook" + strconv.Itoa(i),
			Objects: []map[string]any{identityOnly(o.Object)}, Transient: true})
	}
	for _, s := range hr.Status.History {
		rec := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{
			"name":      fmt.Sprintf("sh.helm.release.v1.%s.v%d", s.Name, s.Version),
			"namespace": hr.GetStorageNamespace(),
		}}
		files = append(files, provenance.File{Path: releaseRecordFile, ID: key + "#record" + strconv.Itoa(s.Version), Objects: []map[string]any{rec}, Transient: true})
	}
	return files
}

// chartFileOf is the chart file an object came from.
func chartFileOf(res *helmrender.Result, o helmrender.Object) string {
	if o.Source != "" {
		return o.Source
	}
	return res.ChartName
}

// identityOnly is obj's type, name and namespace.
func identityOnly(obj map[string]any) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	m := map[string]any{"name": meta["name"]}
	if ns, ok := meta["namespace"]; ok {
		m["namespace"] = ns
	}
	return map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": m}
}

// ignoredIn is the JSON pointers the rules (spec.driftDetection.ignore,
// resolved to objects by name) free in obj.
func ignoredIn(rules []provenance.IgnoreRule, obj map[string]any) []string {
	if len(rules) == 0 {
		return nil
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	gv, _ := schema.ParseGroupVersion(apiVersion)
	var out []string
	for _, r := range rules {
		if r.Group == gv.Group && r.Kind == kind && r.Name == name && r.Namespace == ns {
			out = append(out, r.JSONPointers...)
		}
	}
	return out
}
