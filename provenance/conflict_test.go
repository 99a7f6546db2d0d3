package provenance_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
)

// Roots of two sources, for conflicts across sources.
var (
	platform = provenance.Root{Name: "path locked", Source: "platform", URL: "https://git.example/platform.git"}
	team     = provenance.Root{Name: "path open", Source: "team", URL: "https://git.example/team.git"}
)

// cmLabeled is ConfigMap app/name with data.v and, when label is set, the
// label tier: label.
func cmLabeled(name, value, label string) string {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: app"
	if label != "" {
		doc += ", labels: {tier: " + label + "}"
	}
	return doc + "}\ndata: {v: \"" + value + "\"}\n---\n"
}

// TestConflictOwnerIndependentOfLoadOrder: replicas whose sources sync in
// a different order name the same owner and the same conflict.
func TestConflictOwnerIndependentOfLoadOrder(t *testing.T) {
	orders := [][]provenance.Root{{platform, team}, {team, platform}}
	var first []string
	for i, order := range orders {
		c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
		for _, r := range order {
			c.Update(part(t, r, "1", cm("shared", r.Source)))
		}
		got := append(conflicts(c.Store.Load()), declared(c.Store.Load(), "shared")["shared"])
		if i == 0 {
			first = got
			continue
		}
		if !reflect.DeepEqual(got, first) {
			t.Errorf("load order %v gives %q; the other order gives %q", order, got, first)
		}
	}
	if want := []string{"shared path locked>path open", "path locked@1:platform"}; !reflect.DeepEqual(first, want) {
		t.Errorf("got %q, want %q", first, want)
	}
}

// TestConflictEveryDeclarationMustAgree: a request on an object two roots
// declare is judged against both; the refusal names the root that
// disagrees, whichever owns the object.
func TestConflictEveryDeclarationMustAgree(t *testing.T) {
	// team pins the label, platform (the owner, by name) leaves it free:
	// in declared mode only team refuses a label change.
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.Update(
		part(t, platform, "1", cmLabeled("shared", "1", "")),
		part(t, team, "2", cmLabeled("shared", "1", "locked")),
	)
	snap := c.Store.Load()
	live := toMap(t, cmLabeled("shared", "1", "locked"))
	tests := []struct {
		name     string
		op       provenance.Operation
		obj      string
		fields   provenance.FieldMode
		wantOK   bool
		wantRoot provenance.Root
		reason   provenance.Reason
	}{
		{"matches both", provenance.Update, cmLabeled("shared", "1", "locked"), provenance.FieldsDeclared, true, platform, provenance.ReasonMatchesGit},
		{"matches the owner only", provenance.Update, cmLabeled("shared", "1", "open"), provenance.FieldsDeclared, false, team, provenance.ReasonFieldMismatch},
		{"strict: matches both", provenance.Update, cmLabeled("shared", "1", "locked"), provenance.FieldsStrict, true, platform, provenance.ReasonMatchesGit},
		{"a value neither declares", provenance.Update, cmLabeled("shared", "2", "locked"), provenance.FieldsDeclared, false, platform, provenance.ReasonFieldMismatch},
		{"delete", provenance.Delete, "", provenance.FieldsDeclared, false, platform, provenance.ReasonManagedDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &provenance.Request{Operation: tt.op, Version: "v1", Kind: "ConfigMap", Namespace: "app", Name: "shared", OldObject: live}
			if tt.obj != "" {
				req.Object = toMap(t, tt.obj)
			}
			ck := &provenance.Checker{Fields: tt.fields}
			res := ck.Check(snap, req)
			if res.Allowed != tt.wantOK || res.Reason != tt.reason {
				t.Fatalf("verdict %v %s, want %v %s (diffs %v)", res.Allowed, res.Reason, tt.wantOK, tt.reason, res.Diffs)
			}
			if st := snap.RootOf(res.Entry); st == nil || st.Root != tt.wantRoot {
				t.Errorf("verdict rests on %v, want %v", st, tt.wantRoot)
			}
		})
	}
}

// Roots of one source, for objects moving between them.
var (
	apps  = provenance.Root{Name: "path apps", Source: "fleet", URL: "https://git.example/fleet.git"}
	infra = provenance.Root{Name: "path infra", Source: "fleet", URL: "https://git.example/fleet.git"}
	other = provenance.Root{Name: "path other", Source: "elsewhere", URL: "https://git.example/else.git"}
)

// TestComposerHoldsDroppedEntries: an object a root drops at a revision
// stays declared, at the revision it was declared at, until every root of
// the source has loaded that revision.
func TestComposerHoldsDroppedEntries(t *testing.T) {
	type op struct {
		root provenance.Root
		rev  string
		docs []string // nil: the root fails at rev
	}
	load := func(r provenance.Root, rev string, docs ...string) op { return op{r, rev, append([]string{}, docs...)} }
	fail := func(r provenance.Root) op { return op{root: r} }
	start := []op{load(apps, "1", cm("x", "1"), cm("a", "1")), load(infra, "1", cm("i", "1"))}
	tests := []struct {
		name string
		ops  []op
		want map[string]string // name -> root@rev:value; absent: not declared
	}{
		{"x moves to infra, which fails: x stays with apps at 1", []op{load(apps, "2", cm("a", "1")), fail(infra)},
			map[string]string{"x": "path apps@1:1", "a": "path apps@2:1", "i": "path infra@1:1"}},
		{"infra loads a later revision with x: infra's", []op{load(apps, "2", cm("a", "1")), fail(infra), load(apps, "3", cm("a", "1")), load(infra, "3", cm("i", "1"), cm("x", "3"))},
			map[string]string{"x": "path infra@3:3", "a": "path apps@3:1", "i": "path infra@3:1"}},
		{"held across revisions while infra keeps failing", []op{load(apps, "2", cm("a", "1")), fail(infra), load(apps, "3", cm("a", "3")), fail(infra)},
			map[string]string{"x": "path apps@1:1", "a": "path apps@3:3", "i": "path infra@1:1"}},
		{"every root loads the revision without x: gone", []op{load(apps, "2", cm("a", "1")), fail(infra), load(infra, "2", cm("i", "2"))},
			map[string]string{"a": "path apps@2:1", "i": "path infra@2:2"}},
		{"apps declares x again: apps' current entry", []op{load(apps, "2", cm("a", "1")), fail(infra), load(apps, "3", cm("x", "3"))},
			map[string]string{"x": "path apps@3:3", "a": "path apps@2:1", "i": "path infra@1:1"}},
		{"infra loads x while apps lags: both declare it", []op{load(infra, "2", cm("i", "1"), cm("x", "2"))},
			map[string]string{"x": "path apps@1:1", "a": "path apps@1:1", "i": "path infra@2:1"}},
		{"a root of another source behind holds nothing", []op{load(other, "9", cm("o", "9")), load(apps, "2", cm("a", "1")), load(infra, "2", cm("i", "1"))},
			map[string]string{"a": "path apps@2:1", "i": "path infra@2:1", "o": "path other@9:9"}},
		{"removing the failed root releases", []op{load(apps, "2", cm("a", "1")), fail(infra), {root: infra, rev: "remove"}},
			map[string]string{"a": "path apps@2:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
			c.Expect(apps, infra)
			for _, o := range append(start[:len(start):len(start)], tt.ops...) {
				switch {
				case o.rev == "remove":
					c.Remove(o.root)
				case o.docs == nil:
					c.Fail(o.root, errors.New("render: typo"))
				default:
					c.Update(part(t, o.root, o.rev, o.docs...))
				}
			}
			got := declared(c.Store.Load(), "x", "a", "i", "o")
			for n, w := range tt.want {
				if got[n] != w {
					t.Errorf("%s = %q, want %q", n, got[n], w)
				}
			}
			for n, g := range got {
				if _, ok := tt.want[n]; !ok {
					t.Errorf("%s = %q, want undeclared", n, g)
				}
			}
		})
	}
}
