package harness

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ArgoCDApplication is an Application in namespace argocd, in the default
// project, that syncs Path of a Git repository into the cluster
// ArgoCDCluster, automatically, with prune and CreateNamespace=true.
type ArgoCDApplication struct {
	Name string
	// RepoURL is the repository, e.g. GitServer.HTTPURL().
	RepoURL string
	// Path is a plain directory or a kustomize root; "." if empty.
	Path string
	// TargetRevision is a branch, tag or commit; "main" if empty.
	TargetRevision string
	// Namespace is the destination namespace, created by the sync.
	Namespace string
}

// YAML renders the Application, e.g. to commit it to Git or for kubectl.
func (app ArgoCDApplication) YAML() string {
	if app.Path == "" {
		app.Path = "."
	}
	if app.TargetRevision == "" {
		app.TargetRevision = "main"
	}
	return fmt.Sprintf(argoCDApplicationYAML, app.Name, ArgoCDNamespace, app.RepoURL, app.TargetRevision, app.Path, ArgoCDCluster, app.Namespace)
}

const argoCDApplicationYAML = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: %s
spec:
  project: default
  source:
    repoURL: %q
    targetRevision: %q
    path: %q
  destination:
    name: %q
    namespace: %q
  syncPolicy:
    automated:
      prune: true
    syncOptions:
    - CreateNamespace=true
`

// ApplicationStatus is what an Application reports about its last
// comparison with Git and its last sync.
type ApplicationStatus struct {
	// Sync is status.sync.status (Synced, OutOfSync, Unknown), Health
	// status.health.status (Healthy, Progressing, Degraded, Missing, ...).
	Sync, Health string
	// Revision is the commit the comparison was made against.
	Revision string
	// Phase and Message are the last operation's (Succeeded, Failed,
	// Error, Running).
	Phase, Message string
	// Conditions holds status.conditions' messages, one a line: errors
	// such as a repository Argo CD could not read.
	Conditions string
}

// ApplicationStatus reads the Application named name in namespace argocd.
func (a *ArgoCD) ApplicationStatus(name string) (ApplicationStatus, error) {
	const path = `{.status.sync.status}{"\n"}{.status.health.status}{"\n"}{.status.sync.revision}{"\n"}` +
		`{.status.operationState.phase}{"\n"}{.status.operationState.message}{"\n"}` +
		`{range .status.conditions[*]}{.type}: {.message}{"; "}{end}`
	r := a.Kubectl.Run("", "get", "applications.argoproj.io", name, "-n", ArgoCDNamespace, "-o", "jsonpath="+path)
	if r.Failed() {
		return ApplicationStatus{}, fmt.Errorf("read Application %s: %s: %w\n%s", name, r.CommandLine(), r.Err, r.Stderr)
	}
	p := strings.SplitN(r.Stdout, "\n", 6)
	for len(p) < 6 {
		p = append(p, "")
	}
	return ApplicationStatus{Sync: p[0], Health: p[1], Revision: p[2], Phase: p[3], Message: p[4], Conditions: p[5]}, nil
}

// WaitSynced polls the Application named name until it is Synced and
// Healthy at commit (a full SHA; empty accepts any revision).
func (a *ArgoCD) WaitSynced(name, commit string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := a.ApplicationStatus(name)
		if err == nil && st.Sync == "Synced" && st.Health == "Healthy" && (commit == "" || st.Revision == commit) {
			return nil
		}
		if a.Controller != nil && a.Controller.Exited() {
			return errors.New("argocd-application-controller exited")
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("application %s not synced at %q after %s: %w", name, commit, timeout, err)
			}
			return fmt.Errorf("application %s not synced at %q after %s: sync=%q health=%q revision=%q operation=%q %q conditions=%q",
				name, commit, timeout, st.Sync, st.Health, st.Revision, st.Phase, st.Message, st.Conditions)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Refresh asks the application controller to compare the Application
// named name with Git now (the refresh button's annotation), instead of at
// the next resync.
func (a *ArgoCD) Refresh(name string) error {
	r := a.Kubectl.Run("", "annotate", "--overwrite", "-n", ArgoCDNamespace, "applications.argoproj.io", name, "argocd.argoproj.io/refresh=normal")
	if r.Failed() {
		return fmt.Errorf("refresh Application %s: %s: %w\n%s", name, r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}
