package render

import (
	"strings"
	"testing"
)

func TestParseManifests(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // kind/name of each object
		wantErr string
	}{
		{name: "multi-document YAML", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n", want: []string{"ConfigMap/a", "Secret/b"}},
		{name: "empty documents are skipped", in: "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n", want: []string{"ConfigMap/a"}},
		{name: "List is flattened", in: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: Service, metadata: {name: b}}\n", want: []string{"ConfigMap/a", "Service/b"}},
		{name: "JSON", in: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}`, want: []string{"ConfigMap/j"}},
		{name: "kustomization.yaml is not an object", in: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"},
		{name: "values file without apiVersion is skipped", in: "replicaCount: 2\nimage: {tag: x}\n"},
		{name: "object without a name is skipped", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n"},
		{name: "invalid YAML is an error", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n", wantErr: "document 1"},
		{name: "error names the document", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n", wantErr: "document 2"},
		{name: "List item that is not an object", in: "apiVersion: v1\nkind: List\nitems: [3]\n", wantErr: "item 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := ParseManifests([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("objects = %v, want %v", got, tc.want)
			}
		})
	}
}
