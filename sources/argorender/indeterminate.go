package argorender

import (
	"reflect"
	"strconv"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// nondeterministicFuncs are template functions whose result changes from
// one render to the next (Sprig's random values, keys and the clock).
// `helm template` has no cluster, so lookup always finds nothing, as in
// Argo CD's render: it is deterministic here.
var nondeterministicFuncs = []string{
	"rand", "uuidv4", "shuffle", "bcrypt", "htpasswd", "encryptAES", "genPrivateKey", "genCA",
	"genSelfSignedCert", "genSignedCert", "now", "date", "ago",
}

// nondeterministic reports whether a template of c or its subcharts
// names such a function: only then is a second render worth its cost.
func nondeterministic(c *chart.Chart) bool {
	for _, t := range c.Templates {
		for _, f := range nondeterministicFuncs {
			if strings.Contains(string(t.Data), f) {
				return true
			}
		}
	}
	for _, d := range c.Dependencies() {
		if nondeterministic(d) {
			return true
		}
	}
	return false
}

// markIndeterminate marks in first what differs from second, object by
// object: the fields (JSON pointers) of an object in both, "" for an
// object in one render only. The agent's render holds other values there:
// gitgate keeps the first render's, so a write there that is not the
// agent's is refused unless it happens to hold them.
func markIndeterminate(first, second []Object) {
	byKey := map[string]map[string]any{}
	for _, o := range second {
		byKey[objectKey(o.Object)] = o.Object
	}
	for i := range first {
		other, ok := byKey[objectKey(first[i].Object)]
		if !ok {
			first[i].Indeterminate = []string{""}
			continue
		}
		first[i].Indeterminate = diffPointers("", first[i].Object, other)
	}
}

// diffPointers lists the JSON pointers where a and b differ.
func diffPointers(at string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		var out []string
		seen := map[string]bool{}
		for k := range am {
			seen[k] = true
			out = append(out, diffPointers(at+"/"+escapePointer(k), am[k], bm[k])...)
		}
		for k := range bm {
			if !seen[k] {
				out = append(out, at+"/"+escapePointer(k))
			}
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, diffPointers(at+"/"+strconv.Itoa(i), al[i], bl[i])...)
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []string{at}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
