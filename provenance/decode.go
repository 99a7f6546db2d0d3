package provenance

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/gitgate/gitgate/internal/jsonscan"
)

// The fields DecodeObject skips. Skipping is only sound because comparison
// ignores them always: TestDecodeSkipsOnlyIgnoredFields keeps this in step
// with builtinIgnores. Who owns which field is judged apart, from the raw
// managedFields of a declared object's write (ownership.go).
const (
	skippedTopField      = "status"
	skippedMetadataField = "managedFields"
)

// skippedPointers are the skipped fields as ignore-rule pointers.
var skippedPointers = []string{"/" + skippedTopField, "/metadata/" + skippedMetadataField}

// errNotObject: an admission object must be a JSON object.
var errNotObject = errors.New("not a JSON object")

// DecodeObject decodes one object of an admission request into the values
// encoding/json gives for map[string]any (float64 numbers). An empty or
// null body decodes to nil (DELETE has no object, CREATE no oldObject).
//
// It is a single pass of internal/jsonscan over the bytes, chosen by
// measurement over json-iterator, sigs.k8s.io/json, goccy/go-json and
// sonic (BENCHMARKS.md): status and metadata.managedFields are skipped,
// not decoded (comparison always ignores both, and on a typical object
// they are a third of the JSON and most of the small maps); common keys
// are interned and small integers shared, so most of what it allocates
// is the maps themselves.
func DecodeObject(raw []byte) (map[string]any, error) {
	return decode(raw, true)
}

// decodeEntry decodes an Entry's JSON whole: a declared status is kept,
// as gitgate render prints it.
func decodeEntry(raw []byte) (map[string]any, error) {
	return decode(raw, false)
}

func decode(raw []byte, skipIgnored bool) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	s := jsonscan.Scanner{B: raw}
	if s.Peek() != '{' {
		return nil, errNotObject
	}
	d := objectDecoder{s: &s}
	obj := map[string]any{}
	ok := s.Object(func(key []byte) bool {
		switch {
		case !skipIgnored:
		case string(key) == skippedTopField:
			_, ok := s.Skip()
			return ok
		case string(key) == "metadata" && s.Peek() == '{':
			meta, ok := d.metadata()
			obj["metadata"] = meta
			return ok
		}
		return d.member(obj, key)
	})
	switch {
	case d.err != nil:
		return nil, d.err
	case !ok:
		return nil, fmt.Errorf("decode object: malformed JSON near byte %d", s.I)
	case !s.AtEnd():
		return nil, errors.New("decode object: bytes left after the object")
	}
	return obj, nil
}

// objectDecoder builds the values of one object.
type objectDecoder struct {
	s *jsonscan.Scanner
	// err is a value encoding/json refuses in valid JSON: a number out of
	// float64's range.
	err error
}

func (d *objectDecoder) metadata() (map[string]any, bool) {
	meta := map[string]any{}
	ok := d.s.Object(func(key []byte) bool {
		if string(key) == skippedMetadataField {
			_, ok := d.s.Skip()
			return ok
		}
		return d.member(meta, key)
	})
	return meta, ok
}

// member decodes the value of key into m; a repeated key keeps its last
// value, as in encoding/json.
func (d *objectDecoder) member(m map[string]any, key []byte) bool {
	v, ok := d.value()
	m[internKey(key)] = v
	return ok
}

func (d *objectDecoder) value() (any, bool) {
	s := d.s
	switch s.Peek() {
	case '{':
		m := map[string]any{}
		return m, s.Object(func(key []byte) bool { return d.member(m, key) })
	case '[':
		list := []any{}
		ok := s.Array(func() bool {
			v, ok := d.value()
			list = append(list, v)
			return ok
		})
		return list, ok
	case '"':
		b, ok := s.StringBytes()
		return string(b), ok
	case 't':
		return true, s.Literal("true")
	case 'f':
		return false, s.Literal("false")
	case 'n':
		return nil, s.Literal("null")
	}
	return d.number()
}

// smallInts are the numbers 0 to 1023 boxed once: replicas, ports,
// seconds and generations are mostly small integers.
var smallInts = func() (out [1024]any) {
	for i := range out {
		out[i] = float64(i)
	}
	return out
}()

func (d *objectDecoder) number() (any, bool) {
	b, ok := d.s.Number()
	if !ok {
		return nil, false
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("decode object: number %s out of range", b)
		}
		return nil, true // encoding/json reads on, then fails
	}
	if b[0] != '-' && f < float64(len(smallInts)) && f == math.Trunc(f) {
		return smallInts[int(f)], true
	}
	return f, true
}

// internKey returns key as a string, without allocating for the keys of
// Kubernetes objects that recur in every request.
func internKey(key []byte) string {
	if s, ok := commonKeys[string(key)]; ok {
		return s
	}
	return string(key)
}

var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "uid", "resourceVersion",
		"generation", "creationTimestamp", "ownerReferences", "finalizers", "spec", "data", "stringData", "type",
		"replicas", "selector", "matchLabels", "matchExpressions", "key", "operator", "values", "template",
		"containers", "initContainers", "image", "imagePullPolicy", "command", "args", "env", "value", "valueFrom",
		"ports", "containerPort", "port", "targetPort", "protocol", "resources", "requests", "limits", "cpu", "memory",
		"readinessProbe", "livenessProbe", "startupProbe", "httpGet", "path", "scheme", "periodSeconds",
		"timeoutSeconds", "successThreshold", "failureThreshold", "initialDelaySeconds", "volumeMounts", "mountPath",
		"volumes", "configMap", "secret", "serviceAccountName", "serviceAccount", "securityContext", "dnsPolicy",
		"restartPolicy", "schedulerName", "terminationGracePeriodSeconds", "terminationMessagePath",
		"terminationMessagePolicy", "strategy", "rollingUpdate", "maxSurge", "maxUnavailable",
		"progressDeadlineSeconds", "revisionHistoryLimit", "nodeSelector", "tolerations", "affinity", "app",
	} {
		m[k] = k
	}
	return m
}()
