package fluxrender

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitgate/gitgate/sources/localsource"
)

func TestRegularFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("app/cm.yaml", 0o644)
	write("bin/run.sh", 0o755)
	if err := os.Symlink("app/cm.yaml", filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	tree, _, err := localsource.Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RegularFiles(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{name: "app/cm.yaml", want: true},
		{name: "bin/run.sh", want: true},
		{name: "link.yaml"},
	} {
		f, ok := got[tc.name]
		if ok != tc.want {
			t.Errorf("%s archived = %v, want %v", tc.name, ok, tc.want)
			continue
		}
		if ok && (string(f.Data) != tc.name || f.Mode != 0o644) {
			t.Errorf("%s = %q mode %v, want its content, mode 0644", tc.name, f.Data, f.Mode)
		}
	}
}
