package fsdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func TestWrite(t *testing.T) {
	src := fstest.MapFS{
		"app/cm.yaml":     {Data: []byte("cm"), Mode: 0o755},
		"empty":           {Mode: fs.ModeDir | 0o755},
		"app/link.yaml":   {Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink | 0o777},
		"dev/null-device": {Mode: fs.ModeDevice},
	}
	root := t.TempDir()
	if err := Write(src, root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mode fs.FileMode // 0: not written
		data string
	}{
		{name: "app/cm.yaml", mode: 0o600, data: "cm"},
		{name: "empty", mode: fs.ModeDir | 0o700},
		{name: "app/link.yaml"},
		{name: "dev/null-device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(root, filepath.FromSlash(tc.name))
			fi, err := os.Lstat(p)
			if tc.mode == 0 {
				if err == nil {
					t.Fatalf("written as %v, want left out", fi.Mode())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
			if !fi.IsDir() {
				if b, _ := os.ReadFile(p); string(b) != tc.data {
					t.Errorf("content %q, want %q", b, tc.data)
				}
			}
		})
	}
}

func TestWriteReadError(t *testing.T) {
	if err := Write(os.DirFS(filepath.Join(t.TempDir(), "missing")), t.TempDir()); err == nil {
		t.Error("a source that cannot be read wrote nothing and no error")
	}
}
