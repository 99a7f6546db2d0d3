package harness

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// ChartFixture is the folder of a chart the tests share, under
// test/harness/testdata/charts: "podinfo" (stefanprodan/podinfo's chart
// 6.9.2, Apache-2.0, its LICENSE beside it) or "shopfront" (ours: a CRD in
// crds/, a pre-install hook, randAlphaNum, a greeting value meant for
// valuesFrom's targetPath, and a Deployment named after the release for
// post-renderers and commonMetadata to act on).
func ChartFixture(name string) string {
	return filepath.Join(RepoRoot(), "test", "harness", "testdata", "charts", name)
}

// ChartFiles reads the chart in dir as Git files under prefix (e.g.
// "charts/shopfront"), for GitServer.Commit: the chart of a HelmRelease
// whose source is a GitRepository.
func ChartFiles(dir, prefix string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[path.Join(prefix, filepath.ToSlash(rel))] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read chart %s: %w", dir, err)
	}
	return files, nil
}
