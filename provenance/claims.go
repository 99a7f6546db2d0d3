package provenance

import (
	"maps"
	"slices"
	"sort"
	"strings"
)

// Claim is a set of objects a root's agent alone writes, named by labels
// rather than by name: the agent finds them by those labels, whatever
// their names. Helm keeps the record of each version of a release in a
// Secret labelled owner=helm and name=<release> in the release's storage
// namespace, and takes the one of the highest version for the release as
// it is: whoever writes such a Secret, under any name, tells the agent
// what it released (and so what to delete at its next upgrade). A write
// or delete of an object a claim covers, as it was or as it will be, by
// anyone but the agent (or the root's own agents) is refused as
// agent-only, in every field mode.
type Claim struct {
	Group, Kind, Namespace string
	// Labels the object carries, every one of them.
	Labels map[string]string
	// NamePrefix, when set, covers besides any object named NamePrefix
	// and a decimal number, whatever its labels: the name Helm's driver
	// creates the record of each new version under, which a Secret put
	// there first would hold (failing every upgrade).
	NamePrefix string
	// Via says what the objects are, as people read it: "Helm's records
	// of release podinfo".
	Via string
}

// RootClaim is a root's claim, as Snapshot.ClaimOf finds it.
type RootClaim struct {
	Root  Root
	Claim Claim
}

type claimScope struct{ group, kind, namespace string }

// SetClaims records what root's agent alone writes besides the objects
// the root declares, as SetInputs records its inputs: kept while the root
// fails to render, forgotten with the root, published at once once any
// snapshot is.
func (c *Composer) SetClaims(root Root, claims []Claim) {
	in := slices.Clone(claims)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotFor(root)
	if slices.EqualFunc(s.claims, in, equalClaim) {
		return
	}
	s.claims = in
	if c.Store.Load() != nil {
		c.publish()
	}
}

func equalClaim(a, b Claim) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Via == b.Via && a.NamePrefix == b.NamePrefix && maps.Equal(a.Labels, b.Labels)
}

// claimIndex is every root's claims by group, kind and namespace, each
// scope's by root. c.mu is held.
func (c *Composer) claimIndex() map[claimScope][]RootClaim {
	var out map[claimScope][]RootClaim
	for root, s := range c.slots {
		for _, cl := range s.claims {
			if out == nil {
				out = map[claimScope][]RootClaim{}
			}
			k := claimScope{cl.Group, cl.Kind, cl.Namespace}
			out[k] = append(out[k], RootClaim{Root: root, Claim: cl})
		}
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool { return rootLess(rs[i].Root, rs[j].Root) })
	}
	return out
}

// ClaimOf is the first root's claim that covers an object of group, kind
// and namespace carrying, in any of objs (as it was, as it will be), the
// claim's labels. One map lookup when no root claims that kind there.
func (s *Snapshot) ClaimOf(group, kind, namespace string, objs ...map[string]any) (RootClaim, bool) {
	for _, rc := range s.claims[claimScope{group, kind, namespace}] {
		for _, obj := range objs {
			if obj != nil && rc.Claim.covers(obj) {
				return rc, true
			}
		}
	}
	return RootClaim{}, false
}

// covers reports whether the claim covers obj: by its labels, or by its
// name.
func (cl Claim) covers(obj map[string]any) bool {
	if hasLabels(obj, cl.Labels) {
		return true
	}
	if cl.NamePrefix == "" {
		return false
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	n, ok := strings.CutPrefix(name, cl.NamePrefix)
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

func hasLabels(obj map[string]any, want map[string]string) bool {
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	for k, v := range want {
		if got, _ := labels[k].(string); got != v {
			return false
		}
	}
	return len(want) > 0
}

// claimed is the verdict on a request of an object a root's claim covers:
// only the agent writes or deletes it; finishing a deletion under way
// stays free.
func (c *Checker) claimed(snap *Snapshot, req *Request, entry *Entry) (Result, bool) {
	if len(snap.claims) == 0 || finishesDeletion(req) {
		return Result{}, false
	}
	if _, ok := snap.ClaimOf(req.Group, req.Kind, req.Namespace, req.OldObject, req.Object); !ok {
		return Result{}, false
	}
	return Result{Reason: ReasonAgentOnly, Entry: entry}, true
}
