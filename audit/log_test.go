package audit

import (
	"bytes"
	"testing"
)

// TestNewLogNeverSamples: a burst of records, more than the 100 a second
// controller-runtime's zap samples down to, reaches the log whole, at any
// verbosity.
func TestNewLogNeverSamples(t *testing.T) {
	for _, n := range []int{1, 100, 500} {
		var buf bytes.Buffer
		log := NewLog(&buf)
		for i := range n {
			log.Info("audit record", "audit", &Record{Name: "web", Decision: Denied, UID: string(rune('a' + i%26))})
		}
		if got := bytes.Count(buf.Bytes(), []byte("\n")); got != n {
			t.Errorf("%d records logged as %d lines", n, got)
		}
		if !bytes.Contains(buf.Bytes(), []byte(`"logger":"audit"`)) {
			t.Errorf("records not under the audit logger: %.200s", buf.Bytes())
		}
	}
}
