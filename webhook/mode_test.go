package webhook

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Mode
		wantErr bool
	}{{"enforce", Enforce, false}, {"warn", Warn, false}, {"audit", Audit, false}, {"Warn", "", true}, {"", "", true}, {"off", "", true}} {
		got, err := ParseMode(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseMode(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestGitModes(t *testing.T) {
	ns := func(name, label string) string {
		y := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
		if label != "" {
			y += "  labels: {" + ModeLabel + ": " + label + "}\n"
		}
		return y
	}
	// big is over the 16 KiB of JSON a cache keeps: decoded every time.
	big := ns("big", "audit") + "  annotations: {note: " + strings.Repeat("x", 20<<10) + "}\n"
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{
		"ns.yaml": ns("warned", "warn") + "---\n" + ns("audited", "audit") + "---\n" + ns("strict", "enforce") + "---\n" +
			ns("typo", "audti") + "---\n" + ns("plain", "") + "---\n" + big,
	})
	// serve's cache keeps what it read.
	cached := NewGitModes(Warn)
	cached.ModeFor(snap, "warned")
	if n, _ := cached.Decoded.Len(); n != 1 {
		t.Errorf("the cache holds %d Namespaces after one was read, want 1", n)
	}
	// Without a cache, and with serve's: twice, so the second reads what
	// the cache kept.
	for name, m := range map[string]GitModes{
		"fresh decodes": {Default: Warn},
		"cached":        NewGitModes(Warn),
		// Two entries for six Namespaces: every round evicts.
		"small cache": {Default: Warn, Decoded: provenance.NewDecodedCache(2, 1<<20)},
	} {
		for range 2 {
			for _, tt := range []struct {
				ns   string
				want Mode
			}{
				{"warned", Warn}, {"audited", Audit}, {"strict", Enforce},
				{"big", Audit},
				{"typo", Enforce},    // an unknown value fails closed
				{"plain", Warn},      // no label: the --mode default
				{"undeclared", Warn}, // Git does not declare it: whatever its live label says, the default
				{"", Warn},           // cluster-scoped objects, Namespaces included
			} {
				if got := m.ModeFor(snap, tt.ns); got != tt.want {
					t.Errorf("%s: ModeFor(%q) = %q, want %q", name, tt.ns, got, tt.want)
				}
			}
		}
	}
	if got := (GitModes{Default: Audit}).ModeFor(nil, "warned"); got != Audit {
		t.Errorf("before the first sync: %q, want the default", got)
	}
}

// TestGitModesConflict: a Namespace two roots declare with different modes
// gets the strictest, whichever root owns it.
func TestGitModesConflict(t *testing.T) {
	ns := func(label string) string {
		y := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shared\n"
		if label != "" {
			y += "  labels: {" + ModeLabel + ": " + label + "}\n"
		}
		return y
	}
	tests := []struct {
		first, second string // labels of root a (the owner) and root b
		def, want     Mode
	}{
		{"audit", "enforce", Audit, Enforce},
		{"enforce", "audit", Audit, Enforce},
		{"audit", "warn", Audit, Warn},
		{"audit", "", Warn, Warn}, // no label is the default
		{"audit", "audit", Enforce, Audit},
	}
	for _, tt := range tests {
		c := &provenance.Composer{Store: &provenance.Store{}}
		for name, label := range map[string]string{"path a": tt.first, "path b": tt.second} {
			root := provenance.Root{Name: name}
			ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
			idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "ns.yaml", Objects: provenancetest.Objects(t, ns(label))}})
			if err != nil {
				t.Fatal(err)
			}
			c.Update(provenance.Part{Index: idx})
		}
		for name, m := range map[string]GitModes{
			"fresh decodes": {Default: tt.def},
			"cached":        NewGitModes(tt.def),
		} {
			for range 2 {
				if got := m.ModeFor(c.Store.Load(), "shared"); got != tt.want {
					t.Errorf("%s: %s vs %s (default %s): %s, want %s", name, tt.first, tt.second, tt.def, got, tt.want)
				}
			}
		}
	}
}
