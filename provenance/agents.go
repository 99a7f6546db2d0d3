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
func (c *Composer) SetAgents(root Root, users []string) { c.setAgents(root, users, false) }

// SetSyncAgents records the user names that apply root's objects as the
// agent but that someone else acts as too: Argo CD's argocd-server
// impersonates the account its controller syncs an Application as for
// people's edits in its UI (patch, delete, resource actions), and the API
// server tells neither apart. Such a user is not the root's agent
// (AgentOf, SyncOnly): it is judged by its class, and only what no one
// but the agent may write of the root's objects is its (the webhook
// asks SyncAgentOf).
func (c *Composer) SetSyncAgents(root Root, users []string) { c.setAgents(root, users, true) }

func (c *Composer) setAgents(root Root, users []string, syncOnly bool) {
	us := slices.Clone(users)
	sort.Strings(us)
	us = slices.Compact(us)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotFor(root)
	if slices.Equal(s.agents, us) && s.syncOnly == syncOnly {
		return
	}
	s.agents, s.syncOnly = us, syncOnly
	if c.Store.Load() != nil {
		c.publish()
	}
}

// syncOnlyIndex is the roots whose agents are sync agents
// (SetSyncAgents). c.mu is held.
func (c *Composer) syncOnlyIndex() map[Root]bool {
	var out map[Root]bool
	for root, s := range c.slots {
		if s.syncOnly && len(s.agents) > 0 {
			if out == nil {
				out = map[Root]bool{}
			}
			out[root] = true
		}
	}
	return out
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
// lookup when no root names an agent. A sync agent (SetSyncAgents) is
// none: see SyncAgentOf.
func (s *Snapshot) AgentOf(user string, k Key) (Root, bool) {
	root, sync, ok := s.agentOf(user, k)
	if !ok || sync || s.IsSyncAgent(user) {
		// A sync agent of any root is nobody's agent: whoever acts as it
		// for that root (argocd-server) reaches the others' objects too.
		return Root{}, false
	}
	return root, true
}

// SyncAgentOf reports whether user applies the object k as a root's sync
// agent (SetSyncAgents): k is declared, every root that declares it
// names user, and one of them as its sync agent. Such a user may write,
// as the agent, only what no one but the agent may write of the object
// (Result reasons agent-only and indeterminate: hooks, values the render
// cannot reproduce); the rest of its writes are judged by its class.
func (s *Snapshot) SyncAgentOf(user string, k Key) (Root, bool) {
	root, sync, ok := s.agentOf(user, k)
	if !ok || !sync {
		return Root{}, false
	}
	return root, true
}

// agentOf is the first root that declares k, when every root that
// declares it names user as its agent, and whether any of them names
// user as a sync agent only.
func (s *Snapshot) agentOf(user string, k Key) (root Root, sync, ok bool) {
	roots := s.agents[user]
	if len(roots) == 0 {
		return Root{}, false, false
	}
	decls := s.Declarations(k)
	if len(decls) == 0 {
		return Root{}, false, false
	}
	for _, e := range decls {
		if !slices.Contains(roots, e.Root) {
			return Root{}, false, false
		}
		sync = sync || s.syncOnly[e.Root]
	}
	return decls[0].Root, sync, true
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
	if len(roots) == 0 || s.IsSyncAgent(user) {
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

// IsSyncAgent reports whether some root names user as its sync agent
// (SetSyncAgents).
func (s *Snapshot) IsSyncAgent(user string) bool {
	return slices.ContainsFunc(s.agents[user], func(r Root) bool { return s.syncOnly[r] })
}
