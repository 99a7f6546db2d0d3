package provenance

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Part is the last good render of one root, as a source driver hands it to
// a Composer.
type Part struct {
	// Index holds the root's objects, at the root's revision; it names the
	// root. It must not be nil.
	Index *Index
	// Fetched is when the revision was first read.
	Fetched time.Time
}

// Composer keeps the last good Part of every root and publishes their
// merge into Store, one immutable Snapshot per change. Any source driver
// feeds it: the Git --path syncer, a Flux Kustomization watcher, an Argo
// CD driver. Its methods are safe for concurrent callers; a failure of one
// root never touches the others.
type Composer struct {
	Store *Store
	Log   logr.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	slots map[Root]*slot
	// clocks maps each root to its last success (Unix nanoseconds); the
	// map is replaced, never changed, so LastSuccess reads it without the
	// lock that a recomposition holds.
	clocks atomic.Pointer[map[Root]*atomic.Int64]
}

// slot is what the Composer knows of one root.
type slot struct {
	state *RootState // nil until the root loads once
	index *Index
	err   error // the last failure, nil once the root loads again
	// expected: readiness waits for this root's first load (Expect). A
	// root that appears later (a Kustomization created while gitgate
	// runs) never holds readiness: a broken newcomer must not take the
	// webhook of every replica out of service.
	expected bool
	// held are entries the root dropped at a revision that not every root
	// of its source has loaded: see holdDropped.
	held map[Key]heldEntry
	// logged is len(held) when last logged, so a standing hold is logged
	// once.
	logged int
	// inputs are what the root's render reads besides its files, sorted
	// (SetInputs).
	inputs []Input
	// agents are the user names that apply the root as the agent, sorted
	// (SetAgents); syncOnly: as sync agents (SetSyncAgents).
	agents   []string
	syncOnly bool
	// claims are what the root's agent alone writes besides what the
	// root declares (SetClaims).
	claims []Claim
}

// Expect registers roots that must load once before Ready passes.
func (c *Composer) Expect(roots ...Root) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range roots {
		c.slotFor(r).expected = true
	}
}

// Update installs each part as the last good render of its index's root,
// in order, as one sync of a source loads them, and publishes one
// recomposed Snapshot.
func (c *Composer) Update(parts ...Part) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, p := range parts {
		root := p.Index.Root()
		s := c.slotFor(root)
		s.holdDropped(p.Index)
		s.state = &RootState{Root: root, Revision: p.Index.Revision(), Fetched: p.Fetched, Objects: p.Index.Len()}
		s.index, s.err = p.Index, nil
		c.clock(root).Store(now.UnixNano())
		rootLastSuccess.WithLabelValues(root.Source, root.Name).Set(float64(now.Unix()))
	}
	c.publish()
}

// Confirm records that root was read successfully and is unchanged: its
// last good render is still current.
func (c *Composer) Confirm(root Root) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotFor(root)
	s.err = nil
	now := c.now()
	c.clock(root).Store(now.UnixNano())
	rootLastSuccess.WithLabelValues(root.Source, root.Name).Set(float64(now.Unix()))
}

// Fail records that root could not be brought to its source's current
// revision. Its last good render stays in force; it is counted and logged
// with the root's name.
func (c *Composer) Fail(root Root, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotFor(root)
	s.err = err
	rootFailures.WithLabelValues(root.Source, root.Name).Inc()
	kept := "none"
	if s.state != nil {
		kept = s.state.Revision.String()
	}
	c.Log.Error(err, "root failed; keeping its last good revision", "root", root.Name, "source", root.Source, "revision", kept)
}

// Remove forgets root: its objects are no longer declared.
func (c *Composer) Remove(root Root) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.slots[root]
	if !ok {
		return
	}
	delete(c.slots, root)
	rootFailures.DeleteLabelValues(root.Source, root.Name)
	rootLastSuccess.DeleteLabelValues(root.Source, root.Name)
	clocks := c.copyClocks()
	delete(clocks, root)
	c.clocks.Store(&clocks)
	if s.state != nil || c.Store.Load() != nil {
		c.publish()
	}
}

// LastSuccess is when root was last read successfully (loaded or
// confirmed unchanged); the zero time before that. It never blocks.
func (c *Composer) LastSuccess(root Root) time.Time {
	if m := c.clocks.Load(); m != nil {
		if t := (*m)[root]; t != nil && t.Load() != 0 {
			return time.Unix(0, t.Load())
		}
	}
	return time.Time{}
}

// Ready fails until every expected root has loaded once, naming those
// that have not and why, and while no root is expected or loaded.
func (c *Composer) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	relevant := 0
	for root, s := range c.slots {
		if s.state != nil || s.expected {
			relevant++
		}
		if s.state != nil || !s.expected {
			continue
		}
		if s.err != nil {
			missing = append(missing, fmt.Sprintf("%s (%v)", root, s.err))
		} else {
			missing = append(missing, root.String())
		}
	}
	if relevant == 0 {
		return errors.New("no root to enforce yet")
	}
	if len(missing) > 0 {
		return fmt.Errorf("roots not loaded yet: %s", strings.Join(missing, "; "))
	}
	return nil
}

// holdDropped keeps the entries of the root's last good index that next
// no longer declares, with the state they were declared at. An object
// moved from this root to a sibling that fails to load the revision
// would otherwise be declared nowhere, and people could change or delete
// it as not in Git: a failure must never open what Git protected. The
// entries go when every root of the source has loaded one revision
// (releaseSettled), or when the root declares them again.
func (s *slot) holdDropped(next *Index) {
	for k := range s.held {
		if next.objects[k] != nil {
			delete(s.held, k)
		}
	}
	if s.index == nil {
		return
	}
	for k, e := range s.index.objects {
		if next.objects[k] != nil {
			continue
		}
		if s.held == nil {
			s.held = map[Key]heldEntry{}
		}
		s.held[k] = heldEntry{entry: e, state: s.state}
	}
}

// releaseSettled forgets the held entries of every source whose roots
// have all loaded one revision: what they no longer declare is gone from
// Git. It logs a hold when it changes. c.mu is held.
func (c *Composer) releaseSettled() {
	settled := c.settledSources()
	for root, s := range c.slots {
		if len(s.held) == 0 || settled[root.Source] {
			s.held, s.logged = nil, 0
			continue
		}
		if s.logged == len(s.held) {
			continue
		}
		s.logged = len(s.held)
		c.Log.Info("root dropped objects at a revision not every root of its source has loaded; they stay declared", "root", root.Name, "source", root.Source, "objects", len(s.held))
	}
}

// settledSources reports, per source, whether every root of it has loaded
// and all are at one revision. c.mu is held.
func (c *Composer) settledSources() map[string]bool {
	at := map[string]Revision{}
	settled := map[string]bool{}
	for root, s := range c.slots {
		src := root.Source
		if _, seen := settled[src]; !seen {
			settled[src] = true
		}
		if s.state == nil {
			settled[src] = false
			continue
		}
		if rev, ok := at[src]; ok && rev != s.state.Revision {
			settled[src] = false
		}
		at[src] = s.state.Revision
	}
	return settled
}

// publish swaps in the merge of every loaded root. c.mu is held.
func (c *Composer) publish() {
	c.releaseSettled()
	loaded := make([]*RootState, 0, len(c.slots))
	indexes := make(map[Root]*Index, len(c.slots))
	var pending []Root
	var held []heldEntry
	for root, s := range c.slots {
		if s.state == nil {
			pending = append(pending, root)
			continue
		}
		loaded = append(loaded, s.state)
		indexes[root] = s.index
		for _, h := range s.held {
			held = append(held, h)
		}
	}
	snap := compose(loaded, indexes, held)
	snap.inputs = c.inputIndex()
	snap.agents = c.agentIndex()
	snap.syncOnly = c.syncOnlyIndex()
	snap.claims = c.claimIndex()
	sortRoots(pending)
	snap.pending = pending
	c.logNewConflicts(c.Store.Load(), snap)
	rootConflicts.Set(float64(len(snap.conflicts)))
	c.Store.Swap(snap)
}

// logNewConflicts logs the conflicts snap has and prev had not, so a
// standing conflict is logged once, not at every recomposition.
func (c *Composer) logNewConflicts(prev, snap *Snapshot) {
	var before map[Key]bool
	if prev != nil && len(prev.conflicts) > 0 {
		before = make(map[Key]bool, len(prev.conflicts))
		for _, cf := range prev.conflicts {
			before[cf.Key] = true
		}
	}
	for _, cf := range snap.conflicts {
		if before[cf.Key] {
			continue
		}
		others := make([]string, len(cf.Others))
		for i, r := range cf.Others {
			others[i] = r.String()
		}
		c.Log.Info("object declared by more than one root; a request on it must agree with every declaration", "object", cf.Key.String(), "owner", cf.Owner.String(), "others", others)
	}
}

func (c *Composer) slotFor(root Root) *slot {
	if c.slots == nil {
		c.slots = map[Root]*slot{}
	}
	s := c.slots[root]
	if s == nil {
		s = &slot{}
		c.slots[root] = s
		c.clock(root)
	}
	return s
}

// clock returns root's last-success clock, adding it when new. c.mu is
// held.
func (c *Composer) clock(root Root) *atomic.Int64 {
	if m := c.clocks.Load(); m != nil {
		if t := (*m)[root]; t != nil {
			return t
		}
	}
	clocks := c.copyClocks()
	t := &atomic.Int64{}
	clocks[root] = t
	c.clocks.Store(&clocks)
	return t
}

func (c *Composer) copyClocks() map[Root]*atomic.Int64 {
	out := map[Root]*atomic.Int64{}
	if m := c.clocks.Load(); m != nil {
		for r, t := range *m {
			out[r] = t
		}
	}
	return out
}

func (c *Composer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
