package argosync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dlclark/regexp2/v2"

	"github.com/gobwas/glob"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/sources/argorender"
)

// AppProjectGVK is the kind the Watcher reads each Application's project
// from, as unstructured objects, in Argo CD's own namespace.
var AppProjectGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "AppProject"}

// impersonationKey in argocd-cm turns on Argo CD's sync impersonation:
// "true" alone enables it (settings.IsImpersonationEnabled).
const impersonationKey = "application.sync.impersonation.enabled"

// Project is what gitgate reads of an AppProject: the namespaces its
// Applications may live in besides Argo CD's own, the service accounts
// Argo CD impersonates per destination, and its labels, which
// globalProjects' selectors match.
type Project struct {
	SourceNamespaces           []string                    `json:"sourceNamespaces,omitempty"`
	DestinationServiceAccounts []DestinationServiceAccount `json:"destinationServiceAccounts,omitempty"`
	Labels                     map[string]string           `json:"-"`
}

// DestinationServiceAccount is one entry of an AppProject's
// spec.destinationServiceAccounts: server and namespace are globs.
type DestinationServiceAccount struct {
	Server                string `json:"server"`
	Namespace             string `json:"namespace,omitempty"`
	DefaultServiceAccount string `json:"defaultServiceAccount"`
}

// DecodeProject reads an AppProject's spec.
func DecodeProject(u *unstructured.Unstructured) (*Project, error) {
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	p := &Project{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, p); err != nil {
		return nil, fmt.Errorf("AppProject %s: %w", u.GetName(), err)
	}
	p.Labels = u.GetLabels()
	return p, nil
}

// serviceAccountDisallowed are the characters Argo CD refuses in a
// defaultServiceAccount.
const serviceAccountDisallowed = "!*[]{}\\/"

// ServiceAccountFor is the user Argo CD's controller impersonates to sync
// app with impersonation on (settings.DeriveServiceAccountToImpersonate):
// the first destinationServiceAccounts entry of its project p whose
// server glob matches server (the destination cluster's URL) and whose
// namespace glob matches the destination namespace, as
// system:serviceaccount:<ns>:<sa> (<ns> the destination namespace, else
// the Application's, unless the entry names "ns:sa"). "" with no error
// when no entry matches; an error when a glob or the entry is invalid
// (Argo CD refuses to sync then) or when p does not admit an
// Application in app's namespace (IsAppNamespacePermitted). server ""
// is a destination whose URL gitgate does not know (a cluster Secret's
// name): only an entry whose server is "*", which matches every URL, can
// match it, and an entry before it whose namespace matches but whose
// server is any other glob is an error (errUnknownServer): Argo CD's
// choice depends on the URL.
func ServiceAccountFor(p *Project, app *argorender.Application, controllerNS, server string) (string, error) {
	if app.Namespace != "" && app.Namespace != controllerNS && !inList(p.SourceNamespaces, app.Namespace) {
		return "", fmt.Errorf("project %q does not admit Applications in namespace %q", app.Spec.Project, app.Namespace)
	}
	dest := app.Spec.Destination.Namespace
	saNS := dest
	if saNS == "" {
		saNS = app.Namespace
	}
	for _, e := range p.DestinationServiceAccounts {
		srv, err := glob.Compile(e.Server)
		if err != nil {
			return "", fmt.Errorf("invalid glob pattern for destination server: %w", err)
		}
		ns, err := glob.Compile(e.Namespace)
		if err != nil {
			return "", fmt.Errorf("invalid glob pattern for destination namespace: %w", err)
		}
		if !ns.Match(dest) {
			continue
		}
		switch {
		case server == "" && e.Server != "*":
			return "", errUnknownServer
		case server != "" && !srv.Match(server):
			continue
		}
		sa := e.DefaultServiceAccount
		switch {
		case strings.TrimSpace(sa) == "" || strings.ContainsAny(sa, serviceAccountDisallowed):
			return "", fmt.Errorf("default service account contains invalid chars %q", sa)
		case strings.Contains(sa, ":"):
			return "system:serviceaccount:" + sa, nil
		}
		return "system:serviceaccount:" + saNS + ":" + sa, nil
	}
	return "", nil
}

// inList is Argo CD's glob.MatchStringInList in REGEXP mode: an entry
// wrapped in "/" is a regular expression, compiled with regexp2 as Argo
// CD's util/regex does (Go's regexp reads some patterns otherwise), any
// other a glob. An entry that does not compile matches nothing.
func inList(list []string, item string) bool {
	for _, l := range list {
		if len(l) > 2 && strings.HasPrefix(l, "/") && strings.HasSuffix(l, "/") {
			if re, err := regexp2.Compile(l[1:len(l)-1], regexp2.None); err == nil {
				if ok, err := re.MatchString(item); err == nil && ok {
					return true
				}
			}
		}
		if g, err := glob.Compile(l); err == nil && g.Match(item) {
			return true
		}
	}
	return false
}

// errUnknownServer: an Application that names this cluster by a cluster
// Secret's name (--argocd-cluster-name) has a server URL gitgate does not
// know, so it cannot tell whether an entry's server glob other than "*"
// matches it.
var errUnknownServer = errors.New("the destination names a cluster Secret whose server URL gitgate does not read, " +
	"and a destinationServiceAccounts entry for its namespace has a server other than \"*\"")

// destinationServer is the URL of app's destination cluster, which
// skipReason already found to be this one; "" when a cluster Secret's
// name gives it.
func destinationServer(app *argorender.Application) string {
	d := app.Spec.Destination
	if d.Name == "" || d.Name == InClusterName {
		return InClusterServer
	}
	return ""
}

// readProjects reads the AppProjects of Argo CD's namespace. A failure
// leaves no project: no root has an agent of its own until they can be
// read.
func (w *Watcher) readProjects(ctx context.Context) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(AppProjectGVK.GroupVersion().WithKind("AppProjectList"))
	w.projects, w.projectsErr = nil, nil
	if err := w.Reader.List(ctx, l, client.InNamespace(w.namespaces()[0])); err != nil {
		w.projectsErr = fmt.Errorf("list AppProjects in %s: %w", w.namespaces()[0], err)
		return
	}
	w.projects = map[string]*Project{}
	for i := range l.Items {
		p, err := DecodeProject(&l.Items[i])
		if err != nil {
			continue // its Applications have no agent of their own
		}
		w.projects[l.Items[i].GetName()] = p
	}
}

// setAgents hands the Composer the root's sync agent: with argocd-cm's
// impersonation on, the service account Argo CD syncs app as
// (ServiceAccountFor). Fail closed: no sync agent when impersonation is off,
// argocd-cm or the AppProjects cannot be read, the project is missing,
// or no entry matches (Argo CD then refuses to sync, or falls back to
// its own identity with impersonation not enforced).
func (w *Watcher) setAgents(app *argorender.Application, rt *root) {
	var agents []string
	sa, err := w.impersonated(app)
	note := ""
	if err != nil {
		note = err.Error()
	} else if sa != "" {
		agents = []string{sa}
	}
	if note != rt.agentNote && note != "" {
		w.Log.Info("Application has no sync agent", "root", rt.Root.Name, "reason", note)
	}
	rt.agentNote = note
	if slices.Equal(rt.agents, agents) {
		return
	}
	rt.agents = agents
	w.Composer.SetSyncAgents(rt.Root, agents)
}

// impersonated is the user Argo CD syncs app as, "" when impersonation is
// off or no entry matches.
func (w *Watcher) impersonated(app *argorender.Application) (string, error) {
	switch {
	case w.env.err != nil:
		return "", w.env.err
	case !w.env.impersonation:
		return "", nil
	case w.projectsErr != nil:
		return "", w.projectsErr
	}
	name := app.Spec.Project
	if name == "" {
		name = "default" // Application.Spec.GetProject
	}
	p := w.projects[name]
	if p == nil {
		return "", fmt.Errorf("AppProject %q not found in %s", name, w.namespaces()[0])
	}
	server := destinationServer(app)
	sa, err := ServiceAccountFor(p, app, w.namespaces()[0], server)
	if err != nil || sa != "" {
		return sa, err
	}
	// Argo CD appends the global projects' entries after the project's
	// own (util/argo GetAppVirtualProject), so they count only when none
	// of its own matched.
	if w.env.globalProjectsErr != nil {
		return "", w.env.globalProjectsErr
	}
	inherited, err := GlobalServiceAccounts(name, w.projects, w.env.globalProjects)
	if err != nil || len(inherited) == 0 {
		return "", err
	}
	return ServiceAccountFor(&Project{SourceNamespaces: p.SourceNamespaces, DestinationServiceAccounts: inherited}, app, w.namespaces()[0], server)
}
