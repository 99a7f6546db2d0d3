package fluxrender

import (
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// TestIgnore: the files source-controller leaves out of a GitRepository's
// artifact (storage.SourceIgnoreFilter over sourceignore patterns).
func TestIgnore(t *testing.T) {
	files := []string{
		".git/config", ".gitignore", ".github/workflows/ci.yaml", "logo.png",
		"apps/app.yaml", "apps/app.tar.gz", "apps/secret.enc.yaml", "apps/.sops.yaml",
		"docs/guide.md", "docs/examples/example.yaml", "apps/keep/keep.yaml",
	}
	spec := func(s string) *string { return &s }
	cases := []struct {
		name string
		// ignoreFiles are .sourceignore files by folder.
		ignoreFiles map[string]string
		spec        *string
		want        []string
	}{{
		name: "defaults: VCS, CI, archives, images, .sops.yaml",
		want: []string{"apps/app.yaml", "apps/keep/keep.yaml", "apps/secret.enc.yaml", "docs/examples/example.yaml", "docs/guide.md"},
	}, {
		// Any pattern replaces the default exclusions; VCS ones stay.
		name:        "a root .sourceignore replaces the defaults",
		ignoreFiles: map[string]string{".": "# docs are not manifests\ndocs/\n"},
		want: []string{".github/workflows/ci.yaml", ".sourceignore", "apps/.sops.yaml", "apps/app.tar.gz", "apps/app.yaml",
			"apps/keep/keep.yaml", "apps/secret.enc.yaml", "logo.png"},
	}, {
		name:        "a nested .sourceignore is scoped to its folder",
		ignoreFiles: map[string]string{"apps": "*.enc.yaml\n/keep/\n"},
		want: []string{".github/workflows/ci.yaml", "apps/.sops.yaml", "apps/.sourceignore", "apps/app.tar.gz", "apps/app.yaml",
			"docs/examples/example.yaml", "docs/guide.md", "logo.png"},
	}, {
		name: "spec.ignore, with a negation",
		spec: spec("/*\n!/apps/\n/apps/keep/\n"),
		want: []string{"apps/.sops.yaml", "apps/app.tar.gz", "apps/app.yaml", "apps/secret.enc.yaml"},
	}, {
		name:        "spec.ignore adds to .sourceignore",
		ignoreFiles: map[string]string{".": "docs/\n"},
		spec:        spec("*.png\n"),
		want: []string{".github/workflows/ci.yaml", ".sourceignore", "apps/.sops.yaml", "apps/app.tar.gz", "apps/app.yaml",
			"apps/keep/keep.yaml", "apps/secret.enc.yaml"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := fstest.MapFS{}
			for _, f := range files {
				src[f] = &fstest.MapFile{Data: []byte("x")}
			}
			for dir, body := range c.ignoreFiles {
				src[strings.TrimPrefix(dir+"/.sourceignore", "./")] = &fstest.MapFile{Data: []byte(body)}
			}
			ignored, err := Ignore(src, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for f := range src {
				if !ignored(f) {
					kept = append(kept, f)
				}
			}
			sort.Strings(kept)
			if strings.Join(kept, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("kept:\n%s\nwant:\n%s", strings.Join(kept, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
