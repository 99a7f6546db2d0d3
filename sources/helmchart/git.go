package helmchart

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/fluxcd/pkg/chartutil"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"
	"sigs.k8s.io/yaml"
)

// FromGit builds the chart of spec from src, the files of a GitRepository
// at one revision (after its ignore rules), as source-controller's
// HelmChart reconciler builds it from the artifact (its local builder)
// and helm-controller loads it: spec.chart is a path in the source (a
// chart directory or archive); a directory's .helmignore applies;
// dependencies missing from charts/ are loaded from file:// paths (or
// charts/<name>) of the same source, and any other is ErrRemoteDependency;
// spec.valuesFiles (paths in the source) replace values.yaml, merged in
// order; the version gets source-controller's build metadata (the commit
// for reconcileStrategy Revision, the HelmChart's generation for values
// files). revision is the GitRepository's ("main@sha1:<hash>").
func FromGit(src fs.FS, spec sourcev1.HelmChartSpec, generation int64, revision string) (c *Chart, err error) {
	defer recovered(&err)
	if c, err = fromGit(src, spec, generation, revision); err != nil {
		return nil, err
	}
	c.SourceRevision = revision
	return c, nil
}

func fromGit(src fs.FS, spec sourcev1.HelmChartSpec, generation int64, revision string) (*Chart, error) {
	if spec.SourceRef.Kind == sourcev1.BucketKind {
		return nil, ErrBucket
	}
	p := cleanPath(spec.Chart)
	st, err := fs.Stat(src, p)
	if err != nil {
		return nil, fmt.Errorf("chart path %q: %w", spec.Chart, err)
	}
	c, err := loadPath(src, p, st.IsDir())
	if err != nil {
		return nil, err
	}
	commit := revision
	if i := strings.LastIndex(revision, ":"); i >= 0 {
		commit = revision[i+1:]
	}
	md := versionMetadata(spec, generation, commit)
	if !st.IsDir() && md == "" && len(spec.ValuesFiles) == 0 {
		// source-controller copies a packaged chart as it is.
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return nil, err
		}
		return &Chart{Chart: c, Revision: c.Metadata.Version, Digest: sha256Digest(data)}, nil
	}
	if md != "" {
		if c.Metadata.Version, err = withMetadata(c.Metadata.Version, md); err != nil {
			return nil, err
		}
	}
	if err := gitValues(src, c, spec); err != nil {
		return nil, err
	}
	if st.IsDir() {
		if err := addLocalDependencies(src, p, c); err != nil {
			return nil, err
		}
	}
	if c, err = repackage(c); err != nil {
		return nil, err
	}
	return &Chart{Chart: c, Revision: c.Metadata.Version}, nil
}

// gitValues merges spec.valuesFiles, paths in the source, into the
// chart's values.yaml (source-controller's mergeFileValues).
func gitValues(src fs.FS, c *chart.Chart, spec sourcev1.HelmChartSpec) error {
	if len(spec.ValuesFiles) == 0 {
		return nil
	}
	merged := map[string]any{}
	for _, f := range spec.ValuesFiles {
		data, err := fs.ReadFile(src, cleanPath(f))
		if errors.Is(err, fs.ErrNotExist) && spec.IgnoreMissingValuesFiles {
			continue
		}
		if err != nil {
			return fmt.Errorf("no values file found at path '%s': %w", f, err)
		}
		vals := map[string]any{}
		if err := yaml.Unmarshal(data, &vals); err != nil {
			return fmt.Errorf("unmarshaling values from '%s' failed: %w", f, err)
		}
		merged = chartutil.MergeMaps(merged, vals)
	}
	_, err := overwriteValues(c, merged)
	return err
}

// loadPath loads the chart directory or archive at p.
func loadPath(src fs.FS, p string, dir bool) (*chart.Chart, error) {
	if !dir {
		data, err := readBounded(src, p, maxChartSize)
		if err != nil {
			return nil, err
		}
		return loader.LoadArchive(bytes.NewReader(data))
	}
	files, err := dirFiles(src, p)
	if err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("failed to load chart from %s: %w", p, err)
	}
	return c, nil
}

// dirFiles reads a chart directory as source-controller's secure loader
// does: .helmignore and Helm's default rules, files of at most 5 MiB, a
// UTF-8 byte order mark dropped; anything but directories and regular
// files is left out (the artifact holds none).
func dirFiles(src fs.FS, dir string) ([]*archive.BufferedFile, error) {
	rules := ignore.Empty()
	if data, err := fs.ReadFile(src, path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("cannot load ignore rules for chart: %w", err)
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	err := fs.WalkDir(src, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel := strings.TrimPrefix(p, dir+"/")
		if dir == "." {
			rel = p
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && rules.Ignore(rel, fi):
			return fs.SkipDir
		case d.IsDir(), rules.Ignore(rel, fi), !fi.Mode().IsRegular():
			return nil
		case fi.Size() > maxChartFileSize:
			return fmt.Errorf("cannot load file %s as file size (%d) exceeds limit (%d)", rel, fi.Size(), maxChartFileSize)
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return fmt.Errorf("error reading %s: %w", rel, err)
		}
		files = append(files, &archive.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})})
		return nil
	})
	return files, err
}

// addLocalDependencies adds the dependencies Chart.yaml lists that
// charts/ does not hold, as source-controller's dependency manager does:
// when the counts differ, each missing one (by alias or name) is loaded
// from charts/<name> (no repository) or its file:// path, relative to
// the chart, checked against its version constraint and renamed to its
// alias. Any other repository would be downloaded: ErrRemoteDependency.
func addLocalDependencies(src fs.FS, chartDir string, c *chart.Chart) error {
	reqs := c.Metadata.Dependencies
	if len(c.Dependencies()) == len(reqs) {
		return nil
	}
	for _, dep := range reqs {
		name := dep.Name
		if dep.Alias != "" {
			name = dep.Alias
		}
		if hasDependency(c, name) {
			continue
		}
		if dep.Repository != "" && !strings.HasPrefix(dep.Repository, "file://") {
			return fmt.Errorf("dependency '%s' from '%s': %w", name, dep.Repository, ErrRemoteDependency)
		}
		d, err := localDependency(src, chartDir, dep)
		if err != nil {
			return fmt.Errorf("failed to add local dependency '%s': %w", name, err)
		}
		c.AddDependency(d)
	}
	return nil
}

func hasDependency(c *chart.Chart, name string) bool {
	for _, d := range c.Dependencies() {
		if d.Name() == name {
			return true
		}
	}
	return false
}

// localDependency loads one file:// (or charts/<name>) dependency, which
// must stay in the source.
func localDependency(src fs.FS, chartDir string, dep *chart.Dependency) (*chart.Chart, error) {
	p := path.Join(chartDir, "charts", dep.Name)
	if dep.Repository != "" {
		u, err := url.Parse(dep.Repository)
		if err != nil {
			return nil, fmt.Errorf("failed to parse alleged local chart reference: %w", err)
		}
		p = path.Join(chartDir, u.Host, u.Path)
	}
	p = cleanPath(p)
	st, err := fs.Stat(src, p)
	if err != nil {
		return nil, fmt.Errorf("no chart found at '%s' (reference '%s')", p, dep.Repository)
	}
	constraint, err := semver.NewConstraint(dep.Version)
	if err != nil {
		return nil, fmt.Errorf("invalid version/constraint format '%s': %w", dep.Version, err)
	}
	ch, err := loadPath(src, p, st.IsDir())
	if err != nil {
		return nil, err
	}
	v, err := semver.NewVersion(ch.Metadata.Version)
	if err != nil {
		return nil, err
	}
	if !constraint.Check(v) {
		return nil, fmt.Errorf("can't get a valid version for constraint '%s'", dep.Version)
	}
	if dep.Alias != "" {
		ch.Metadata.Name = dep.Alias
	}
	return ch, nil
}

// cleanPath makes a source path relative to the root and within it, as
// source-controller's secure join to its work directory clamps "..".
func cleanPath(p string) string {
	if p = strings.TrimPrefix(path.Clean("/"+p), "/"); p == "" {
		return "."
	}
	return p
}

func readBounded(src fs.FS, p string, max int64) ([]byte, error) {
	st, err := fs.Stat(src, p)
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("size of '%s' exceeds %d bytes", p, max)
	}
	return fs.ReadFile(src, p)
}
