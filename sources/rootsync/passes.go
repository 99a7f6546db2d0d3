package rootsync

import (
	"errors"
	"sync/atomic"
)

// Passes is what other goroutines see of a driver's passes: a trigger for
// a pass now, and whether a pass has listed the roots the driver enforces
// (until then the Composer cannot know what to wait for).
type Passes struct {
	trigger chan struct{}
	listed  atomic.Bool
}

// Open makes the trigger; a Trigger before Open is dropped.
func (p *Passes) Open() { p.trigger = make(chan struct{}, 1) }

// Triggered is the channel a pass loop waits on.
func (p *Passes) Triggered() <-chan struct{} { return p.trigger }

// Trigger asks for a pass now; it never blocks.
func (p *Passes) Trigger() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// MarkListed records that a pass has listed the driver's roots.
func (p *Passes) MarkListed() { p.listed.Store(true) }

// Listed fails, naming what, until a pass has listed it.
func (p *Passes) Listed(what string) error {
	if !p.listed.Load() {
		return errors.New(what + " not listed yet")
	}
	return nil
}
