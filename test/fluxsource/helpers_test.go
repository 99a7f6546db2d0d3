package fluxsource

import (
	"os"
	"path/filepath"
	"testing"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fleet", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
