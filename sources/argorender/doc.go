// Package argorender renders an Argo CD Application the way Argo CD
// v3.6.2's repo server and application controller do, so that gitgate
// declares what the agent applies: the source type (explicit, or found as
// Argo CD finds it: a Chart.yaml, a kustomization file, else a
// directory), `.argocd-source.yaml` and `.argocd-source-<app>.yaml`
// overrides, plain directories (recursion, include and exclude globs,
// jsonnet with extVars, TLAs and libs), kustomize (with the Application's
// overrides applied as Argo CD's `kustomize edit` calls apply them, by
// kustomize's own edit commands), Helm (`helm template` as Argo CD calls
// it, with Helm v4's own install action in client dry-run), several
// sources and `$ref` value files, the destination namespace for
// namespaced objects without one, the managed namespace of
// CreateNamespace=true, Argo CD's tracking annotation or label, and hooks
// apart.
//
// It is pure: the files of each source at the resolved revision, the
// settings Argo CD reads from argocd-cm and the cluster's scope come in;
// nothing is fetched. Whatever Argo CD would fetch or run beyond that (a
// config management plugin, a Helm chart repository, a remote kustomize
// base, a remote value file, kustomize build options) fails the render
// with ErrUnsupported and the reason, rather than declare something other
// than what Argo CD applies.
//
// It never imports Argo CD (which needs a newer Go): the facts it copies
// are named where they are used.
package argorender
