package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/compare"
)

// The words of a decision, the stage after the policy: every word gitgate
// says about a refusal, whether the answer denies it or carries it as a
// warning, and nowhere else. Values of a Secret, or of an object whose
// values may come from one, never appear.

const (
	// maxShownDiffs keeps a denial short enough to read in a terminal.
	maxShownDiffs = 3
	// maxValueLen bounds one value in a denial.
	maxValueLen = 80
	// maxMessageLen keeps a denial under 1 KB, whatever the values.
	maxMessageLen = 1000
)

// Repo describes the watched repository for messages, with any credentials
// already removed from the URL.
type Repo struct {
	URL string
	// Browse, when set, is a template for a link to a file in a web view of
	// the repository, e.g. https://git.example.com/org/fleet/blob/{revision}/{file};
	// denials show such links instead of the clone URL.
	Browse string
}

// browseLink fills the Browse template: {revision} with rev (a commit hash
// or a branch) and {file} with the file's path; "" without a template.
func (r Repo) browseLink(rev, file string) string {
	if r.Browse == "" || file == "" {
		return ""
	}
	segments := strings.Split(file, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return strings.NewReplacer("{revision}", url.PathEscape(rev), "{file}", strings.Join(segments, "/")).Replace(r.Browse)
}

// refusal is the text of a refusal as the policy ruled on it: the message
// and the warnings of the answer. A refusal audited or passed by
// break-glass gets no message: nobody would read it.
func (h *Handler) refusal(preq *provenance.Request, snap *provenance.Snapshot, v verdict, r ruling) (string, []string) {
	switch {
	case r.decision == audit.BreakGlass && preq.Operation == connectOperation:
		return "", []string{breakGlassConnectWarning(r.use, preq.Subresource)}
	case r.decision == audit.BreakGlass:
		return "", []string{breakGlassWarning(r.use)}
	case r.decision == audit.Audited:
		return "", nil
	}
	msg := h.message(preq, snap, v)
	switch {
	case r.decision == audit.Warned && r.dryRunWarned:
		return msg, []string{dryRunMessage(msg)}
	case r.decision == audit.Warned:
		return msg, []string{warnMessage(msg)}
	case r.modeLabel:
		msg = truncate(msg+" "+modeLabelNote, maxMessageLen)
	case v.reason == provenance.ReasonAgentMark:
		msg = truncate(msg+" "+agentMarkNote, maxMessageLen)
	}
	return msg, nil
}

// modeLabelNote explains why a grant did not help.
const modeLabelNote = "Break-glass never covers the " + ModeLabel + " label: change it in Git."

// agentMarkNote explains why neither a grant nor the mode helped.
const agentMarkNote = "A GitOps agent's marks (Flux's owner labels, prune, reconcile and ssa; Argo CD's tracking-id, instance label, sync-options and compare-options) are Git's: no mode or break-glass grant covers them, since the agent would stop reverting or prune long after. Declare them in Git."

// message is a refusal as people read it: the reason code first, the
// explanation, and the team's --denial-hint last.
func (h *Handler) message(preq *provenance.Request, snap *provenance.Snapshot, v verdict) string {
	code := "[" + string(v.reason) + "] "
	hint := ""
	if h.DenialHint != "" {
		hint = " " + h.DenialHint
	}
	return code + truncate(h.explain(preq, snap, v), maxMessageLen-len(code)-len(hint)) + hint
}

// explain says why a request is refused and what to do instead.
func (h *Handler) explain(preq *provenance.Request, snap *provenance.Snapshot, v verdict) string {
	if preq.Operation == connectOperation {
		return connectMessage(preq, v)
	}
	switch v.reason {
	case reasonNotSynced:
		return notSyncedMessage(preq, v.who.user, h.Repo)
	case reasonStale:
		return staleMessage(preq, v.who.user, h.Repo, v.root, v.age, h.Staleness.Max)
	case reasonNoDefaults:
		return noDefaultsMessage(preq, v)
	case reasonAgentToken, reasonControllerToken:
		return tokenMessage(preq, v.who, v.reason, v.err)
	case reasonSecretUnknown:
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v, so it cannot tell whether its Pods would hold the token of a service account above the caller's "+
			"(a token Secret referenced by name hands out its token, whatever the Pod runs as); neither the mode nor break-glass changes this. "+
			"Retry; if this persists, check gitgate's logs and its RBAC (get on secrets).",
			preq.Operation, describeObject(preq), v.who.user, v.err)
	case reasonUnresolvedKind:
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v, so it cannot tell which object Git declares. The API server's discovery may not list it yet; retry, and check gitgate's logs if this persists.",
			preq.Operation, describeObject(preq), v.who.user, v.err)
	case provenance.ReasonAgentMadeDelete:
		maker, _ := h.GitOpsKinds.MadeBy(preq.Group, preq.Kind, preq.OldObject)
		return agentMadeDeleteMessage(preq, v.who, snap, maker, h.Repo)
	case provenance.ReasonRootInput:
		return rootInputMessage(preq, v.who, snap, v.result, h.Repo)
	}
	return denialMessage(preq, v.who, snap, v.result, h.Repo)
}

// noDefaultsMessage explains a refusal for want of the API server's
// defaults: a create of a declared object, or an update that adds to it
// where Git's revision, not applied yet, declares more.
func noDefaultsMessage(preq *provenance.Request, v verdict) string {
	if preq.Operation != provenance.Update {
		return fmt.Sprintf("gitgate denied %s of %s by %s: Git declares it, but gitgate could not learn what the API server makes of Git's manifest (%v), so it cannot tell defaults from additions. Let the GitOps agent create it, or retry.",
			preq.Operation, describeObject(preq), v.who.user, v.err)
	}
	where := "a part of the object"
	switch n := len(v.result.Diffs); {
	case n == 1:
		where = v.result.Diffs[0].Path.String()
	case n > 1:
		where = fmt.Sprintf("%s (and %d more)", v.result.Diffs[0].Path.String(), n-1)
	}
	return fmt.Sprintf("gitgate denied %s of %s by %s: it sets %s, where Git's revision adds to the object (the GitOps agent has not applied it yet) and does not declare it; gitgate could not learn what the API server makes of Git's manifest (%v), so it cannot tell a default from an addition. Let the GitOps agent apply Git's revision first, or retry.",
		preq.Operation, describeObject(preq), v.who.user, where, v.err)
}

// denialMessage explains a denial in one paragraph: what was refused, where
// Git disagrees, and what to do instead. A controller's denial says it was
// judged as one, and how to make it an agent instead.
func denialMessage(req *provenance.Request, who caller, snap *provenance.Snapshot, res provenance.Result, repo Repo) string {
	var b strings.Builder
	b.WriteString(deniedBy(req, who))
	b.WriteString(": ")
	root := snap.RootOf(res.Entry)
	where := consulted(snap)
	if root != nil {
		where = rootAt(root) + ", file " + fileRef(repo, root, res.Entry)
	}
	switch res.Reason {
	case provenance.ReasonNotInGit:
		fmt.Fprintf(&b, "Git does not declare this object in %s.", where)
	case provenance.ReasonManagedDelete:
		if res.Entry == nil {
			fmt.Fprintf(&b, "Git declares objects of this CustomResourceDefinition's kind in %s; deleting it deletes them.", where)
		} else {
			fmt.Fprintf(&b, "Git declares this object in %s.", where)
		}
	case provenance.ReasonManagedNSDelete:
		fmt.Fprintf(&b, "Git declares objects in this namespace in %s.", where)
	case provenance.ReasonStatusWrite:
		if res.Entry == nil {
			b.WriteString("a person may not write its status: controllers write it, and others read it as the truth (external-dns publishes its address).")
		} else {
			fmt.Fprintf(&b, "Git declares this object in %s, and a person may not write its status: others read it as the truth.", where)
		}
	case provenance.ReasonNamespaceFinalize:
		fmt.Fprintf(&b, "Git declares this Namespace in %s, and a person may not write its finalizers (namespaces/finalize): a deletion would skip the cleanup of what it holds.", where)
	case provenance.ReasonEphemeralContainer:
		b.WriteString("a person may not add an ephemeral container (kubectl debug) to a running Pod: it runs any image with any privileges.")
	case provenance.ReasonPodResize:
		b.WriteString("a person may not resize a running Pod in place.")
	case provenance.ReasonAgentOnly, provenance.ReasonIndeterminate:
		b.WriteString(agentWrittenText(snap, req, res, where))
	case provenance.ReasonDeadline:
		fmt.Fprintf(&b, "the object could not be compared with Git (%s) within gitgate's decision deadline, so it is refused.", where)
	default:
		if !writeDetailed(&b, req, res, where) {
			fmt.Fprintf(&b, "the request differs from Git in %s: ", where)
			writeDiffs(&b, res.Diffs, hiddenPaths(req, res.Entry))
		}
	}
	b.WriteString(conflictNote(snap, res.Entry))
	target := gitTarget(snap, root, repo)
	if root != nil && root.Revision.Label == "" {
		if link := repo.browseLink(refOrHash(root.Revision), res.Entry.Path); link != "" {
			target = link
		}
	}
	if who.class == Controller {
		b.WriteString(" " + controllerAdvice(snap, req, res, who.user, target))
	} else {
		b.WriteString(" " + advice(req, res, target))
	}
	return truncate(b.String(), maxMessageLen)
}

// conflictNote names the other roots that declare e's object, when
// several do (a conflict): a request must agree with every declaration
// (provenance.Checker.Check), so a value that one root's Git holds is
// refused by another's, and the person learns which roots to reconcile in
// Git rather than committing to the one the verdict names. Empty when one
// root declares it.
func conflictNote(snap *provenance.Snapshot, e *provenance.Entry) string {
	if e == nil {
		return ""
	}
	decls := snap.Declarations(e.Key)
	if len(decls) < 2 {
		return ""
	}
	var others []string
	for _, d := range decls {
		if d.Root == e.Root {
			continue
		}
		if len(others) == maxShownRoots {
			others = append(others, fmt.Sprintf("and %d more", len(decls)-1-maxShownRoots))
			break
		}
		others = append(others, d.Root.String())
	}
	return fmt.Sprintf(" Git declares this object in %d roots (a conflict; also in %s), and a request must agree with every one: make them agree in Git.",
		len(decls), strings.Join(others, ", "))
}

// writeDetailed writes the refusals whose reason needs its detail (which
// field manager, which version), reporting whether res is one.
func writeDetailed(b *strings.Builder, req *provenance.Request, res provenance.Result, where string) bool {
	switch res.Reason {
	case provenance.ReasonManagedFields:
		fmt.Fprintf(b, "Git declares this object in %s, and who owns its fields (metadata.managedFields) decides what a later removal from Git leaves behind: %s. Neither the mode nor break-glass changes this.", where, res.Detail)
	case provenance.ReasonLastApplied:
		fmt.Fprintf(b, "Git declares this object in %s: %s.", where, res.Detail)
	case provenance.ReasonVersionMismatch:
		fmt.Fprintf(b, "Git declares it as %s in %s, the request uses %s, and gitgate cannot compare the two", res.Entry.APIVersion, where, apiVersion(req))
		if res.Detail != "" {
			fmt.Fprintf(b, " (%s)", res.Detail)
		}
		fmt.Fprintf(b, "; resend it as %s.", res.Entry.APIVersion)
	default:
		return false
	}
	return true
}

// deniedBy is the head of a denial: what was refused, by whom, and how a
// caller whose class its name does not tell was judged.
func deniedBy(req *provenance.Request, who caller) string {
	return fmt.Sprintf("gitgate denied %s of %s by %s", req.Operation, describeObject(req), who.user) + judgedAs(who)
}

// agentAdvice ends a controller's denial: the identity may in fact be a
// GitOps agent.
func agentAdvice(snap *provenance.Snapshot, who caller) string {
	if who.class != Controller {
		return ""
	}
	return agentHint(snap, who.user)
}

// agentHint tells a controller's refusal how user could be the agent: by
// --agent, unless a root already names it (an account Argo CD syncs as,
// held to Git because argocd-server acts as it too: making it an agent
// would let people's edits through).
func agentHint(snap *provenance.Snapshot, user string) string {
	if snap != nil && snap.IsSyncAgent(user) {
		return " " + user + " applies a root's objects for its GitOps agent, and someone else may act as it (Argo CD's argocd-server, for people's edits), so it writes as the agent only what no one else may (hooks, values the render cannot reproduce)."
	}
	return " If " + user + " is a GitOps agent that applies Git, run gitgate with --agent " + user + "."
}

// agentMadeDeleteMessage explains the refused delete of a GitOps object
// Git does not declare that an agent made (maker): the agent would prune
// what it applied.
func agentMadeDeleteMessage(req *provenance.Request, who caller, snap *provenance.Snapshot, maker string, repo Repo) string {
	msg := fmt.Sprintf("%s: Git does not declare it in %s, but %s made it, and deleting it has the GitOps agent prune or delete what it applied, which Git declares. "+
		"To delete it, remove it from what makes it, in Git (%s); in an emergency, ask for a break-glass grant (gitgate breakglass grant).%s",
		deniedBy(req, who), consulted(snap), maker, gitTarget(snap, nil, repo), agentAdvice(snap, who))
	return truncate(msg, maxMessageLen)
}

// maxShownInputRoots bounds the roots a root-input denial names.
const maxShownInputRoots = 2

// rootInputMessage explains the refused change of an object a root's
// render reads: it names the roots, never a value.
func rootInputMessage(req *provenance.Request, who caller, snap *provenance.Snapshot, res provenance.Result, repo Repo) string {
	var b strings.Builder
	b.WriteString(deniedBy(req, who) + ": ")
	inputs, what := snap.Readers(req.Key()), "it"
	if req.Group == "" && req.Kind == "Namespace" {
		what = "objects in it"
	}
	var first *provenance.RootState
	for i, in := range inputs {
		if i == maxShownInputRoots {
			fmt.Fprintf(&b, " and %d more", len(inputs)-maxShownInputRoots)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		st := snap.State(in.Root)
		if st == nil {
			fmt.Fprintf(&b, "%s (not loaded yet) reads %s (%s)", in.Root, what, in.Via)
			continue
		}
		if first == nil {
			first = st
		}
		fmt.Fprintf(&b, "%s reads %s (%s)", rootAt(st), what, in.Via)
	}
	b.WriteString("; changing its data or deleting it changes what the GitOps agent renders and applies, past Git.")
	advice := " Declare it in Git and change it there"
	if st := snap.RootOf(res.Entry); st != nil {
		fmt.Fprintf(&b, " Git declares it in file %s, and not %s, which the request sets.", fileRef(repo, st, res.Entry), diffPathList(res.Diffs))
		advice, first = " Change it in Git", st
	}
	fmt.Fprintf(&b, "%s (%s); in an emergency, ask for a break-glass grant (gitgate breakglass grant).%s",
		advice, gitTarget(snap, first, repo), agentAdvice(snap, who))
	return truncate(b.String(), maxMessageLen)
}

// diffPathList names the paths of diffs, at most maxShownDiffs of them.
func diffPathList(diffs []compare.Diff) string {
	var paths []string
	for i, d := range diffs {
		if i == maxShownDiffs {
			paths = append(paths, fmt.Sprintf("%d more", len(diffs)-maxShownDiffs))
			break
		}
		paths = append(paths, d.Path.String())
	}
	return strings.Join(paths, ", ")
}

// judgedAs says how a caller whose class its name does not tell was
// judged: a controller, or a people proxy (a person).
func judgedAs(who caller) string {
	switch {
	case who.class == Controller:
		return fmt.Sprintf(", judged as a controller (it matches %s)", who.match)
	case who.proxy:
		return fmt.Sprintf(", judged as a person: it writes what people ask of it (it matches --people-proxy %s)", who.match)
	}
	return ""
}

// rootAt names a root and its revision, printed once:
// "Kustomization flux-system/apps at main@sha1:23c4…", or for a revision
// with a label (a HelmRelease's chart) "HelmRelease shop/web (chart web
// 1.2.0 of HelmRepository flux-system/charts at 1.2.0@sha256:…)".
func rootAt(st *provenance.RootState) string {
	switch {
	case st.Root.Name == "":
		return st.Revision.String()
	case st.Revision.Label != "":
		return st.Root.String() + " (" + st.Revision.Label + ")"
	}
	return st.Root.String() + " at " + st.Revision.String()
}

// fileRef is the file of an entry as a denial shows it: a link into the
// repository's web view at the enforced commit when --repo-browse-url is
// set, else its origin. A labelled revision's files are a chart's, not
// the repository's: never linked.
func fileRef(repo Repo, st *provenance.RootState, e *provenance.Entry) string {
	if st.Revision.Label != "" {
		return e.Origin()
	}
	if link := repo.browseLink(st.Revision.Hash, e.Path); link != "" {
		return link
	}
	return e.Origin()
}

// agentWrittenText says why only the agent writes what res refused: Git
// holds its values encrypted, the agent makes and removes it (a hook, a
// release record), or the render cannot reproduce the fields.
func agentWrittenText(snap *provenance.Snapshot, req *provenance.Request, res provenance.Result, where string) string {
	rc, claimed := snap.ClaimOf(req.Group, req.Kind, req.Namespace, req.OldObject, req.Object)
	switch {
	case res.Reason == provenance.ReasonIndeterminate:
		return fmt.Sprintf("Git declares this object in %s, but gitgate's render cannot reproduce %s (a random value, the time, or what a lookup of the cluster found): only the GitOps agent, which renders it, may set or change %s.",
			where, indeterminateWhat(res), indeterminatePronoun(res))
	case claimed && (res.Entry == nil || res.Entry.Transient):
		return fmt.Sprintf("%s claims this object (%s, found by their labels whatever their names): only the GitOps agent may write or delete it.", rc.Root, rc.Claim.Via)
	case res.Entry != nil && res.Entry.Transient:
		return fmt.Sprintf("Git declares this object in %s as one the GitOps agent makes and removes in the course of its work (a Helm hook or test, or Helm's record of a release); only the agent may write or delete it.", where)
	}
	return fmt.Sprintf("Git declares this object with encrypted values at %s; only the GitOps agent, which decrypts them, may write or delete it.", where)
}

// indeterminateWhat names the fields of an indeterminate refusal, by path
// only: the agent's values may be secrets.
func indeterminateWhat(res provenance.Result) string {
	switch {
	case res.Entry != nil && res.Entry.WholeIndeterminate():
		if len(res.Diffs) == 0 {
			return "any of its values"
		}
		return "any of its values, and the request changes " + diffPathList(res.Diffs)
	case len(res.Diffs) == 1:
		return res.Diffs[0].Path.String()
	}
	return diffPathList(res.Diffs)
}

func indeterminatePronoun(res provenance.Result) string {
	if len(res.Diffs) == 1 && res.Entry != nil && !res.Entry.WholeIndeterminate() {
		return "it"
	}
	return "them"
}

// refOrHash is where to commit: the followed branch, else the commit.
func refOrHash(r provenance.Revision) string {
	if r.Ref != "" {
		return r.Ref
	}
	return r.Hash
}

// maxShownRoots bounds the roots a not-in-Git denial lists.
const maxShownRoots = 3

// consulted names the roots a verdict without a declared object rests on,
// and those not loaded yet.
func consulted(snap *provenance.Snapshot) string {
	roots := snap.Roots()
	var b strings.Builder
	switch len(roots) {
	case 0:
		b.WriteString("any root")
	case 1:
		b.WriteString(rootAt(roots[0]))
	default:
		fmt.Fprintf(&b, "any of %d roots (", len(roots))
		for i, st := range roots {
			if i == maxShownRoots {
				fmt.Fprintf(&b, ", and %d more", len(roots)-maxShownRoots)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(st.Root.String() + " at " + shortRevision(st.Revision))
		}
		b.WriteString(")")
	}
	if p := snap.Pending(); len(p) > 0 {
		fmt.Fprintf(&b, "; %d not loaded yet (first: %s)", len(p), p[0])
	}
	return b.String()
}

// shortRevision is main@23c423b, or 23c423b for a pinned commit.
func shortRevision(r provenance.Revision) string {
	if r.Label != "" {
		return r.Label
	}
	if r.Ref == "" {
		return r.Short()
	}
	return r.Ref + "@" + r.Short()
}

// gitTarget names the repository and ref to commit to: the root's, or the
// one every root shares, or else all of the watched sources.
func gitTarget(snap *provenance.Snapshot, root *provenance.RootState, repo Repo) string {
	if root == nil {
		if roots := snap.Roots(); len(roots) > 0 && sameTarget(roots) {
			root = roots[0]
		}
	}
	if root == nil {
		return repo.URL
	}
	url := root.Root.URL
	if url == "" {
		url = repo.URL
	}
	if root.Revision.Ref != "" {
		return url + " (" + root.Revision.Ref + ")"
	}
	return url
}

func sameTarget(roots []*provenance.RootState) bool {
	for _, st := range roots[1:] {
		if st.Root.URL != roots[0].Root.URL || st.Revision.Ref != roots[0].Revision.Ref {
			return false
		}
	}
	return true
}

func advice(req *provenance.Request, res provenance.Result, target string) string {
	switch {
	case res.Reason == provenance.ReasonStatusWrite || res.Reason == provenance.ReasonNamespaceFinalize || res.Reason == provenance.ReasonEphemeralContainer || res.Reason == provenance.ReasonPodResize:
		return "If this is an emergency, ask for a break-glass grant (gitgate breakglass grant); otherwise change the workload in " + target + "."
	case res.Reason == provenance.ReasonAgentOnly && res.Entry != nil && res.Entry.Transient:
		return "Leave it to the GitOps agent. In an emergency, ask for a break-glass grant."
	case res.Reason == provenance.ReasonAgentOnly:
		return "Commit the change, encrypted, to " + target + "; the GitOps agent decrypts and applies it. In an emergency, ask for a break-glass grant."
	case res.Reason == provenance.ReasonIndeterminate:
		return "Leave it as the GitOps agent wrote it (an apply of what the cluster holds passes), or change what renders it in " + target + ". In an emergency, ask for a break-glass grant."
	case req.Operation == provenance.Delete:
		return "To delete it, remove it from " + target + "; the GitOps agent prunes it."
	case res.Reason == provenance.ReasonNotInGit:
		return "To create it, commit it to " + target + "; the GitOps agent applies it."
	default:
		return "Commit the change to " + target + " instead; the GitOps agent applies it."
	}
}

// controllerAdvice tells an operator the two ways out: the value belongs
// in Git, or the identity is in fact a GitOps agent.
func controllerAdvice(snap *provenance.Snapshot, req *provenance.Request, res provenance.Result, user, target string) string {
	agent := agentHint(snap, user)
	switch {
	case req.Operation == provenance.Delete:
		return "A controller may not delete what Git declares: remove it from " + target + " and the GitOps agent prunes it." + agent
	case res.Reason == provenance.ReasonUndeclared:
		// A field a controller may not set where Git is silent: a Pod
		// template, a Service's routing, gitgate's own Namespace label.
		return "gitgate protects this field even where Git does not declare it: commit the value to " + target +
			", or, if an operator you trust writes it, free the field with --ignore." + agent
	default:
		return "A controller may change only what Git does not declare: commit the value to " + target + "." + agent
	}
}

// notSyncedMessage is the denial before the first revision has loaded.
func notSyncedMessage(req *provenance.Request, user string, repo Repo) string {
	return fmt.Sprintf("gitgate denied %s of %s by %s: gitgate has not synced Git yet (%s), so it cannot tell whether the change matches Git. Retry once gitgate is ready; if this persists, check gitgate's logs.",
		req.Operation, describeObject(req), user, repo.URL)
}

// tokenMessage explains an agent-token or controller-token refusal.
func tokenMessage(preq *provenance.Request, who caller, reason provenance.Reason, err error) string {
	if errors.Is(err, errGitOpsObject) {
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v. Declare it in Git instead; neither the mode nor break-glass changes this.",
			preq.Operation, describeObject(preq), who.user, err)
	}
	if errors.Is(err, errGitOpsPath) {
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v. Commit the change to Git; neither the mode nor break-glass changes this (both may still pause it: spec.suspend, or an Argo CD Application's automated sync).",
			preq.Operation, describeObject(preq), who.user, err)
	}
	if preq.Subresource != "token" {
		return runsAsMessage(preq, who, reason, err)
	}
	if reason == reasonControllerToken {
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v, and whoever holds its token is judged as a controller, past the rules for people. "+
			"Run the workload as that service account instead; for a cloud's workload identity, add its audience with --token-audience. Neither the mode nor break-glass changes this.",
			preq.Operation, describeObject(preq), who.user, err)
	}
	return fmt.Sprintf("gitgate denied %s of %s by %s: %v, and whoever holds its token acts as it, past every Git check. "+
		"Only exempt identities (the kubelet, the controller manager) may request it; neither the mode nor break-glass changes this.",
		preq.Operation, describeObject(preq), who.user, err)
}

// runsAsMessage explains the refusal of an object that would run as, or
// hold the token of, a service account above its creator.
func runsAsMessage(preq *provenance.Request, who caller, reason provenance.Reason, err error) string {
	past, instead := "every Git check", ", or run it as a service account that is no agent's"
	if reason == reasonControllerToken {
		past, instead = "the rules for people", ""
	}
	return fmt.Sprintf("gitgate denied %s of %s by %s: %v, and whatever runs with that token acts as it, past %s. "+
		"Commit it to Git for the GitOps agent to apply%s; neither the mode nor break-glass changes this.",
		preq.Operation, describeObject(preq), who.user, err, past, instead)
}

func describeObject(req *provenance.Request) string {
	kind := req.Kind
	if req.Group != "" {
		kind = req.Group + "/" + req.Kind
	}
	name := req.Name
	if name == "" {
		name = "(generated name)"
	}
	if req.Namespace != "" {
		name = req.Namespace + "/" + name
	}
	if req.Subresource != "" {
		return kind + " " + name + " (" + req.Subresource + ")"
	}
	return kind + " " + name
}

func apiVersion(req *provenance.Request) string {
	if req.Group == "" {
		return req.Version
	}
	return req.Group + "/" + req.Version
}

// hiddenPaths tells which differences must not show their values: a
// Secret's data, and every value of an object whose values may come from a
// Secret (Entry.HideValues).
func hiddenPaths(req *provenance.Request, e *provenance.Entry) func(compare.Path) bool {
	switch {
	case e != nil && e.HideValues:
		return func(compare.Path) bool { return true }
	case isSecret(req):
		return isSecretDataPath
	}
	return func(compare.Path) bool { return false }
}

func writeDiffs(b *strings.Builder, diffs []compare.Diff, hidden func(compare.Path) bool) {
	for i, d := range diffs {
		if i == maxShownDiffs {
			fmt.Fprintf(b, "; and %d more", len(diffs)-maxShownDiffs)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Path.String() + ": ")
		hide := hidden(d.Path)
		switch {
		case d.Kind == compare.Undeclared && d.Added:
			fmt.Fprintf(b, "Git does not declare it where this update adds to the object, and the API server's default there is %s; request has %s",
				value(d.Old, hide), value(d.Request, hide))
		case d.Kind == compare.Undeclared:
			fmt.Fprintf(b, "Git does not declare it, request changes it from %s to %s", value(d.Old, hide), value(d.Request, hide))
		default:
			fmt.Fprintf(b, "Git has %s, request has %s", value(d.Git, hide), value(d.Request, hide))
		}
	}
	b.WriteString(".")
}

func isSecret(req *provenance.Request) bool {
	return req.Group == "" && req.Kind == "Secret"
}

// isSecretDataPath is true for every Secret field but its labels and type:
// data, and annotations (kubectl's last-applied-configuration copies data
// into one), must never be shown.
func isSecretDataPath(p compare.Path) bool {
	switch {
	case len(p) == 1 && p[0].Field == "type":
		return false
	case len(p) >= 2 && p[0].Field == "metadata" && p[1].Field == "labels":
		return false
	}
	return true
}

// value renders a value for people; hidden values never leave the process.
func value(v any, hidden bool) string {
	if v == nil {
		return "nothing"
	}
	if hidden {
		return "(hidden: Secret data)"
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "(unprintable)"
	}
	return truncate(string(out), maxValueLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// staleMessage is the denial once the last sync of the root a verdict
// rests on is older than --max-staleness and gitgate was told to fail
// closed.
func staleMessage(req *provenance.Request, user string, repo Repo, root *provenance.RootState, age, max time.Duration) string {
	from := repo.URL
	if root != nil && root.Root.Name != "" {
		from = root.Root.Name + " of " + root.Root.URL
	}
	return fmt.Sprintf("gitgate denied %s of %s by %s: gitgate last read Git (%s) %s ago, longer than --max-staleness %s, so it cannot tell whether the change matches Git. Retry once gitgate has synced; if this persists, check the Git server and gitgate's logs.",
		req.Operation, describeObject(req), user, from, age.Round(time.Second), max)
}

// warnMessage turns a denial into warn mode's warning.
func warnMessage(denial string) string { return wouldDeny(denial, "warn mode") }

// dryRunMessage turns a denial into the warning of a server dry run.
func dryRunMessage(denial string) string { return wouldDeny(denial, "dry run") }

// wouldDeny rewrites "[code] gitgate denied X" as "[code] gitgate would
// deny (why) X".
func wouldDeny(denial, why string) string {
	code, rest := "", denial
	if strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "] "); i > 0 {
			code, rest = rest[:i+2], rest[i+2:]
		}
	}
	rest, ok := strings.CutPrefix(rest, "gitgate denied ")
	if !ok {
		return code + "gitgate (" + why + "): " + rest
	}
	return truncate(code+"gitgate would deny ("+why+") "+rest, maxMessageLen)
}

// maxGrantReasonLen keeps a break-glass warning on one terminal line or two.
const maxGrantReasonLen = 160

// breakGlassWarning tells the caller the change passed only by break-glass
// and will not last unless it goes to Git.
func breakGlassWarning(u breakglass.Use) string {
	reason := strings.Join(strings.Fields(u.Reason), " ") // one line
	return fmt.Sprintf("break-glass grant %s (%s) used; commit this change to Git or the GitOps agent will revert it",
		u.Grant, truncate(reason, maxGrantReasonLen))
}

// tooLargeMessage refuses an AdmissionReview over --max-request-bytes, in
// an answer carrying the request's uid (LimitBody).
func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("gitgate denied the request: its AdmissionReview is over gitgate's --max-request-bytes (%d bytes), "+
		"more than gitgate can judge in bounded memory; no object Git declares is that large.", limit)
}

// tooLargeHTTPMessage is the HTTP 413 of a body over the limit with no
// uid to answer.
func tooLargeHTTPMessage(limit int64) string {
	return fmt.Sprintf("AdmissionReview over %d bytes", limit)
}

// connectMessage explains a refused CONNECT (exec, attach, port-forward):
// whose Pod it is, or that gitgate could not tell, or --connect.
func connectMessage(preq *provenance.Request, v verdict) string {
	head := deniedBy(preq, v.who)
	switch v.reason {
	case reasonAgentToken:
		return fmt.Sprintf("%s: %v; whoever runs a command in it, attaches to it or forwards its ports can read its token and act as it, past every Git check. "+
			"Only exempt identities may; neither the mode nor break-glass changes this. Change the workload in Git instead.", head, v.err)
	case reasonControllerToken:
		return fmt.Sprintf("%s: %v; whoever runs a command in it can read its token and be judged as a controller, past the rules for people. "+
			"Neither the mode nor break-glass changes this. Change the workload in Git instead; to let people into Pods of this service account, leave it out of --controller.", head, v.err)
	case reasonPodUnknown:
		return fmt.Sprintf("%s: %v, so gitgate cannot tell whether it runs as the GitOps agent, whose token a command in it could read; neither the mode nor break-glass changes this. "+
			"Retry; if this persists, check gitgate's logs and its RBAC (get on pods).", head, v.err)
	}
	return fmt.Sprintf("%s: people may not exec, attach or port-forward here (--connect %s): what a command changes inside a container is not in Git. "+
		"Change the workload in Git instead; in an emergency, ask for a break-glass grant (gitgate breakglass grant).", head, connectSetting(v))
}

// connectSetting names the --connect value that refused a person.
func connectSetting(v verdict) Connect {
	if v.enforce {
		return ConnectDenyPeople
	}
	return ConnectJudge
}

// breakGlassConnectWarning tells the caller an exec, attach or
// port-forward passed only by break-glass, and was recorded.
func breakGlassConnectWarning(u breakglass.Use, subresource string) string {
	reason := strings.Join(strings.Fields(u.Reason), " ") // one line
	return fmt.Sprintf("break-glass grant %s (%s) used for %s; the use is audited, and what it changes inside the container is not in Git",
		u.Grant, truncate(reason, maxGrantReasonLen), subresource)
}
