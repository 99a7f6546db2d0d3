// Package argosync is the source driver of `gitgate serve --source
// argocd`: it watches Argo CD Applications and keeps each that syncs to
// this cluster as one root of a provenance.Composer, named
// "Application <namespace>/<name>".
//
// gitgate fetches each source's repository itself, at the targetRevision
// resolved as Argo CD resolves it (gitsource Ref.Revision), with
// credentials from --sources-file (and Argo CD's repository Secrets only
// with --argocd-repo-secrets), and renders the Application with
// argorender, as Argo CD's repo server and application controller would.
// It never trusts Argo CD's status, cache or repo server.
//
// An Application is rendered again only when its inputs change: its spec,
// argocd-cm's tracking settings, the cluster's version, and for each
// source the files its render can read (the tree under its path, or the
// whole commit when it may read outside it). A failure of one root (a
// repository it cannot read, an unsupported source, a render error) goes
// to Composer.Fail and leaves that root at its last good render; the
// others move on. An Application whose destination is another cluster
// declares nothing here and is skipped.
//
// It reads argocd-cm by name, uncached, and Secrets only with
// --argocd-repo-secrets; it never logs Secret data or credentials.
package argosync
