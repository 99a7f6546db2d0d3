package provenance

import (
	"slices"
	"sort"
)

// A root's own agents. The GitOps agent may apply one root as another
// identity than its own: helm-controller impersonates a HelmRelease's
// spec.serviceAccountName. That identity applies what the root declares,
// so it is the agent for the root's objects, and for nothing else: an
// object another root (or no root) declares is judged by its class. The
// source driver alone knows these identities (SetAgents); the webhook
// asks the snapshot (AgentOf), and treats whoever holds such an
// identity's token as it treats an agent's.

// SetAgents records the user names that apply root's objects as the
// agent, besides the agents gitgate is configured with, as SetInputs
// records its inputs: kept while the root fails to render, forgotten
// with the root (Remove), published at once once any snapshot is.
func (c *Composer) SetAgents(root Root, users []string) {
	us := slices.Clone(users)
	sort.Strings(us)
	us = slices.Compact(us)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotFor(root)
	if slices.Equal(s.agents, us) {
		return
	}
	s.agents = us
	if c.Store.Load() != nil {
		c.publish()
	}
}

// agentIndex is every root agent with its roots, by source and name.
// c.mu is held.
func (c *Composer) agentIndex() map[string][]Root {
	var out map[string][]Root
	for root, s := range c.slots {
		for _, u := range s.agents {
			if out == nil {
				out = map[string][]Root{}
			}
			out[u] = append(out[u], root)
		}
	}
	for _, roots := range out {
		sortRoots(roots)
	}
	return out
}

// AgentOf reports whether user applies the object k as a root's agent:
// k is declared, and every root that declares it (a conflict's included)
// names user with SetAgents. It returns the first such root. One map
// lookup when no root names an agent.
func (s *Snapshot) AgentOf(user string, k Key) (Root, bool) {
	roots := s.agents[user]
	if len(roots) == 0 {
		return Root{}, false
	}
	decls := s.Declarations(k)
	for _, e := range decls {
		if !slices.Contains(roots, e.Root) {
			return Root{}, false
		}
	}
	if len(decls) == 0 {
		return Root{}, false
	}
	return decls[0].Root, true
}

// AgentOfClaim reports whether user applies, as a root's agent, an
// object claims of its roots cover (Snapshot.ClaimOf): Helm's record of a
// release the root makes. Every object given (as it was, as it will be)
// must be covered, and only by claims of user's roots: the agent of one
// release neither relabels its record as another's (which that release's
// agent would read as its latest release), nor takes another's, nor makes
// an unclaimed object a record or a record an unclaimed object.
func (s *Snapshot) AgentOfClaim(user, group, kind, namespace string, objs ...map[string]any) (Root, bool) {
	roots := s.agents[user]
	if len(roots) == 0 {
		return Root{}, false
	}
	var first Root
	found := false
	for _, obj := range objs {
		if obj == nil {
			continue
		}
		covered := false
		for _, rc := range s.claims[claimScope{group, kind, namespace}] {
			if !rc.Claim.covers(obj) {
				continue
			}
			if !slices.Contains(roots, rc.Root) {
				return Root{}, false
			}
			if !found {
				first, found = rc.Root, true
			}
			covered = true
		}
		if !covered {
			return Root{}, false
		}
	}
	return first, found
}

// RootAgents lists, sorted, the user names some root names as its agent:
// whoever holds one of their tokens applies that root's objects
// unjudged.
func (s *Snapshot) RootAgents() []string {
	out := make([]string, 0, len(s.agents))
	for u := range s.agents {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// IsRootAgent reports whether some root names user as its agent.
func (s *Snapshot) IsRootAgent(user string) bool { return len(s.agents[user]) > 0 }
