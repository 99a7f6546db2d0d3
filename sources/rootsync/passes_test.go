package rootsync

import "testing"

// TestPasses: Listed fails until MarkListed; Trigger never blocks, before
// Open (dropped) or with a pass already asked for (one pending).
func TestPasses(t *testing.T) {
	var p Passes
	p.Trigger() // before Open: dropped, no block
	if err := p.Listed("Things"); err == nil || err.Error() != "Things not listed yet" {
		t.Fatalf("Listed before a pass = %v", err)
	}
	p.Open()
	p.Trigger()
	p.Trigger()
	if got := len(p.Triggered()); got != 1 {
		t.Fatalf("pending triggers = %d, want 1", got)
	}
	<-p.Triggered()
	p.MarkListed()
	if err := p.Listed("Things"); err != nil {
		t.Fatalf("Listed after a pass = %v", err)
	}
}
