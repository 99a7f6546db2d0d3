// Package testyaml turns YAML written in tests into the decoded JSON maps
// gitgate compares. It imports nothing of gitgate, so the tests of any
// package, compare included, can use it. It is for tests only.
package testyaml

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// ToMap decodes one YAML object as encoding/json decodes JSON (float64
// numbers); "" gives nil.
func ToMap(t testing.TB, y string) map[string]any {
	t.Helper()
	if y == "" {
		return nil
	}
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
