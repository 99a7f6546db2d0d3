package localsource

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/render"
)

func TestTreeRendersLikeTheCommit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // rendered file paths, kustomize roots marked
	}{
		{name: "plain files", files: map[string]string{"a.yaml": cm("a"), "sub/b.yml": cm("b"), "README.md": "x"}, want: []string{"a.yaml", "sub/b.yml"}},
		{name: "kustomize root", files: map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": cm("c")}, want: []string{"app (kustomize)"}},
		{name: "gitgateignore", files: map[string]string{".gitgateignore": "skip/\n", "skip/x.yaml": cm("x"), "y.yaml": cm("y")}, want: []string{"y.yaml"}},
		{name: "the .git directory is not read", files: map[string]string{".git/config.yaml": cm("z"), "y.yaml": cm("y")}, want: []string{"y.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			provenancetest.WriteFiles(t, dir, tc.files)
			tree, rev, err := Tree(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(rev.Hash) != 40 {
				t.Errorf("revision hash %q is not a SHA-1", rev.Hash)
			}
			files, _, err := render.Tree(tree, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				if f.Kustomize {
					got = append(got, f.Path+" (kustomize)")
				} else {
					got = append(got, f.Path)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("rendered %v, want %v", got, tc.want)
			}
		})
	}
}

// The revision is the hash git write-tree gives the same content.
func TestTreeHashIsGitsTreeHash(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	provenancetest.WriteFiles(t, dir, map[string]string{"b.yaml": cm("b"), "a/x.yaml": cm("x"), "a.yaml": cm("a"), "a-b/c.json": "{}"})
	if err := os.Chmod(filepath.Join(dir, "b.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitOut := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	gitOut("init", "-q")
	gitOut("add", "-A")
	want := gitOut("write-tree")
	_, rev, err := Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Hash != want {
		t.Errorf("tree hash %s, git write-tree %s", rev.Hash, want)
	}
}

func TestTreeMissingDirectory(t *testing.T) {
	if _, _, err := Tree(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("err = %v, want no such file", err)
	}
}

func cm(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: default\n"
}
