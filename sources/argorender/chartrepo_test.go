package argorender

import (
	"errors"
	"strings"
	"testing"
)

// TestChartVersion: targetRevision of a chart source as Argo CD v3.6.2's
// MaxVersion resolves it.
func TestChartVersion(t *testing.T) {
	tags := []string{"1.0.0", "1.2.0", "v1.2.5", "1.3.0-rc.1", "2.0.0", "latest", "not-semver"}
	listErr := errors.New("list failed")
	for _, tc := range []struct {
		name, revision, want, err string
		failList                  bool
	}{
		{name: "exact, unlisted, without reading the repository", revision: "9.9.9", want: "9.9.9", failList: true},
		{name: "exact keeps its spelling", revision: "v1.2", want: "v1.2", failList: true},
		{name: "caret", revision: "^1.0.0", want: "v1.2.5"},
		{name: "tilde", revision: "~1.2.0", want: "v1.2.5"},
		{name: "star is the highest stable", revision: "*", want: "2.0.0"},
		{name: "range admitting pre-releases", revision: ">=1.3.0-0 <2", want: "1.3.0-rc.1"},
		{name: "a listed non-semver tag", revision: "latest", want: "latest"},
		{name: "no match", revision: "^3", err: "version matching constraint not found"},
		{name: "neither version nor constraint", revision: "main", err: "semver constraint"},
		{name: "empty", revision: "", err: "semver constraint"},
		{name: "list fails", revision: "^1", failList: true, err: "list failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChartVersion(tc.revision, func() ([]string, error) {
				if tc.failList {
					return nil, listErr
				}
				return tags, nil
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ChartVersion(%q) = %q, %v, want an error naming %q", tc.revision, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ChartVersion(%q) = %q, %v, want %q", tc.revision, got, err, tc.want)
			}
		})
	}
}

// TestChartURL: where a chart source's chart is fetched from.
func TestChartURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "https://charts.example.com/stable", want: "https://charts.example.com/stable"},
		{in: "oci://registry.example.com/charts", want: "oci://registry.example.com/charts"},
		{in: "registry.example.com:5000/charts", want: "oci://registry.example.com:5000/charts"},
		{in: "ssh://git@example.com/charts", err: "not supported"},
		{in: "", err: "not supported"},
	} {
		got, err := ChartURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ChartURL(%q) = %q, %v, want an error naming %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ChartURL(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}
