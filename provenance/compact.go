package provenance

import "math"

// interner shares equal strings among the entries of one Build: keys
// ("containerPort", "imagePullPolicy") and short values ("TCP", "500m",
// an image every Deployment of a team runs) recur across thousands of
// declared objects, and a snapshot holds each once instead.
type interner map[string]string

// maxInterned bounds the values worth sharing; longer ones rarely repeat.
const maxInterned = 128

func (in interner) str(s string) string {
	if len(s) > maxInterned {
		return s
	}
	if t, ok := in[s]; ok {
		return t
	}
	in[s] = s
	return s
}

// compact returns v with every map rebuilt at its size, keys and short
// strings interned and small integers shared (smallInts), so a declared
// object keeps what the checks read and nothing of its parse. The result
// is equal to v (TestCompactKeepsValues).
func (in interner) compact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[in.str(k)] = in.compact(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = in.compact(e)
		}
		return v
	case string:
		return in.str(v)
	case float64:
		if v >= 0 && v < float64(len(smallInts)) && v == math.Trunc(v) && !math.Signbit(v) {
			return smallInts[int(v)]
		}
	}
	return v
}
