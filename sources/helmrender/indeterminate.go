package helmrender

import (
	"reflect"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
)

// A chart may render differently each time from the same inputs: random
// values, the clock, generated keys and certificates, and lookup, which
// reads the cluster. helm-controller's render then differs from gitgate's
// in those places, so gitgate renders a second time only when the first
// called such a function, and marks what differs (Object.Indeterminate)
// and what a lookup fed (Object.Lookup).
//
// The second render does not trust luck: its clock runs shiftBy ahead (a
// date printed to the day, or the year, still changes), and a random
// function returning what it returned in the first render is called
// again, so randInt 0 2 differs too.

// shiftBy moves the second render's clock: more than a year, and an odd
// number of days, hours, minutes and seconds.
const shiftBy = 400*24*time.Hour + 7*time.Hour + 13*time.Minute + 17*time.Second + 123456789

// randomFuncs are Sprig's functions whose result changes from call to
// call (random values, keys, salts, IVs).
var randomFuncs = []string{
	"randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "randInt",
	"uuidv4", "shuffle", "bcrypt", "htpasswd", "encryptAES",
	"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey",
}

// clockArg names the functions that read the clock and which argument
// holds their date: Sprig's dateInZone takes time.Now() when that
// argument is not a time.Time, *time.Time, int64, int or int32 (its type
// switch); -1 for now, which always does. ago always measures from now.
var clockArg = map[string]int{
	"now": -1, "date": 1, "dateInZone": 1, "date_in_zone": 1, "htmlDate": 0, "htmlDateInZone": 0, "ago": 0,
}

// recorder watches one render: which nondeterministic functions it
// called and what they returned, and which template files called lookup.
type recorder struct {
	// first is the first render's recorder, during the second.
	first   *recorder
	results map[string][]reflect.Value
	lookups int
	// current is the template file being executed (gitgateEnter).
	current string
	entered map[string]bool
	// lookupFiles called lookup; nested: a file was entered twice (one
	// included another whole), so lookup cannot be tied to a file.
	lookupFiles map[string]bool
	nested      bool
}

func newRecorder(first *recorder) *recorder {
	return &recorder{first: first, results: map[string][]reflect.Value{}, entered: map[string]bool{}, lookupFiles: map[string]bool{}}
}

// any reports whether the render called anything nondeterministic.
func (r *recorder) any() bool { return len(r.results) > 0 || r.lookups > 0 }

// funcs are the template functions that replace Sprig's and Helm's for
// this render: recording wrappers of the same signatures, lookup (which
// finds nothing, as in a dry run), and gitgateEnter.
func (r *recorder) funcs() template.FuncMap {
	orig := sprig.TxtFuncMap()
	fm := template.FuncMap{
		"lookup": func(string, string, string, string) (map[string]any, error) {
			r.lookups++
			if r.current == "" {
				r.nested = true
			}
			r.lookupFiles[r.current] = true
			return map[string]any{}, nil
		},
		"gitgateEnter": func(name string) string {
			if r.entered[name] {
				r.nested = true
			}
			r.entered[name], r.current = true, name
			return ""
		},
	}
	for _, name := range randomFuncs {
		if f, ok := orig[name]; ok {
			fm[name] = r.wrap(name, f, -2)
		}
	}
	for name, arg := range clockArg {
		if f, ok := orig[name]; ok {
			fm[name] = r.wrap(name, f, arg)
		}
	}
	return fm
}

// wrap returns f with its own signature, recording each call; arg is the
// clock argument (clockArg), or -2 for a random function.
func (r *recorder) wrap(name string, f any, arg int) any {
	fv := reflect.ValueOf(f)
	return reflect.MakeFunc(fv.Type(), func(args []reflect.Value) []reflect.Value {
		if arg >= 0 && arg < len(args) && !readsClock(name, args[arg]) {
			return fv.Call(args) // a fixed date: deterministic
		}
		var out []reflect.Value
		switch {
		case r.first != nil && name == "now":
			out = []reflect.Value{reflect.ValueOf(time.Now().Add(shiftBy))}
		case r.first != nil && arg != -2:
			out = fv.Call(shifted(name, args, arg))
		default:
			out = fv.Call(args)
		}
		if r.first != nil && arg == -2 {
			out = r.unlike(name, fv, args, out)
		}
		r.results[name] = append(r.results[name], out[0])
		return out
	}).Interface()
}

// readsClock reports whether name reads the clock for this date value.
func readsClock(name string, v reflect.Value) bool {
	if name == "ago" {
		return true
	}
	switch v.Interface().(type) {
	case time.Time, *time.Time, int64, int, int32:
		return false
	}
	return true
}

// shifted moves the clock of a second-render call: a date function gets
// a later time instead of the date it cannot use (and so would take the
// clock's), ago an earlier date.
func shifted(name string, args []reflect.Value, arg int) []reflect.Value {
	out := append([]reflect.Value(nil), args...)
	later := time.Now().Add(shiftBy)
	if name == "ago" {
		t, ok := asTime(args[arg].Interface())
		if !ok {
			return args
		}
		later = t.Add(-shiftBy)
	}
	out[arg] = reflect.ValueOf(later)
	return out
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case *time.Time:
		return *t, t != nil
	case int64:
		return time.Unix(t, 0), true
	case int:
		return time.Unix(int64(t), 0), true
	}
	return time.Time{}, false
}

// unlike calls a random function again (a few times) while it returns
// what the first render's call of the same rank returned.
func (r *recorder) unlike(name string, fv reflect.Value, args, out []reflect.Value) []reflect.Value {
	prev := r.first.results[name]
	i := len(r.results[name])
	if i >= len(prev) {
		return out
	}
	for try := 0; try < 8 && reflect.DeepEqual(out[0].Interface(), prev[i].Interface()); try++ {
		out = fv.Call(args)
	}
	return out
}
