package server

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argosync"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// argoCDCache caches Applications, as unstructured objects, in the
// watched namespaces only, and AppProjects in Argo CD's own.
func argoCDCache(c Config, setup *cacheSetup) {
	app := &unstructured.Unstructured{}
	app.SetGroupVersionKind(argosync.ApplicationGVK)
	namespaces := map[string]cache.Config{}
	for _, ns := range argoNamespaces(c.ArgoCD) {
		namespaces[ns] = cache.Config{}
	}
	proj := &unstructured.Unstructured{}
	proj.SetGroupVersionKind(argosync.AppProjectGVK)
	own := map[string]cache.Config{argoNamespaces(c.ArgoCD)[0]: {}}
	if setup.cache.ByObject == nil {
		setup.cache.ByObject = map[client.Object]cache.ByObject{}
	}
	setup.cache.ByObject[app] = cache.ByObject{Namespaces: namespaces}
	setup.cache.ByObject[proj] = cache.ByObject{Namespaces: own}
	setup.client = client.Options{Cache: &client.CacheOptions{Unstructured: true}}
}

func argoNamespaces(a ArgoCDConfig) []string {
	if len(a.Namespaces) == 0 {
		return []string{argosync.DefaultNamespace}
	}
	return a.Namespaces
}

// addArgoCDWatcher adds the Argo CD driver of SourceArgoCD to the
// manager: it lists Applications from the manager's cache, reads argocd-cm
// (and, with RepoSecrets, Argo CD's repository Secrets) uncached, and
// asks discovery what Argo CD tells Helm of the cluster.
func addArgoCDWatcher(c Config, cfg *rest.Config, mgr ctrl.Manager, src *sources, log logr.Logger) (func() error, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	creds := &argoCredentials{repos: c.ArgoCD.Repositories, secrets: c.ArgoCD.RepoSecrets, reader: mgr.GetAPIReader(),
		namespaces: argoNamespaces(c.ArgoCD)[:1], insecureHTTP: c.ArgoCD.InsecureHTTP}
	w := &argosync.Watcher{
		Reader:       mgr.GetClient(),
		Informers:    mgr.GetCache(),
		APIReader:    mgr.GetAPIReader(),
		Namespaces:   argoNamespaces(c.ArgoCD),
		ClusterNames: c.ArgoCD.ClusterNames,
		Indexer:      &provenance.Indexer{Scope: MapperScope{mgr.GetRESTMapper()}, DefaultNamespace: c.DefaultNamespace},
		Composer:     src.composer,
		Credentials:  creds.lookup,
		Cluster:      func(context.Context) (string, []string, error) { return clusterVersions(dc) },
		MinInterval:  c.ArgoCD.MinInterval,
		CacheDir:     c.ArgoCD.CacheDir,
		Log:          log.WithName("argocd"),
	}
	if err := mgr.Add(runnable{w}); err != nil {
		return nil, fmt.Errorf("add the Argo CD watcher: %w", err)
	}
	return w.Listed, nil
}

// clusterVersions is what Argo CD's controller tells the repo server of
// the destination cluster: its version, and every group version and
// group/version/Kind it serves (argo.APIResourcesToStrings).
func clusterVersions(dc discovery.DiscoveryInterface) (string, []string, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return "", nil, err
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return "", nil, err
	}
	set := map[string]bool{}
	for _, l := range lists {
		set[l.GroupVersion] = true
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") {
				set[l.GroupVersion+"/"+r.Kind] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return v.GitVersion, out, nil
}

// argoCredentials finds a repository's credentials: a --sources-file
// entry of the same URL, else (with secrets) Argo CD's repository Secret
// of that URL, else its repo-creds Secret of the longest matching prefix.
type argoCredentials struct {
	repos        []GitSource
	secrets      bool
	reader       client.Reader
	namespaces   []string
	insecureHTTP bool
}

func (a *argoCredentials) lookup(ctx context.Context, url string) (transport.AuthMethod, []byte, error) {
	for _, r := range a.repos {
		if argosync.NormalizeURL(r.URL) != argosync.NormalizeURL(url) {
			continue
		}
		creds := r.Credentials
		creds.SSHUser = sshUser(url)
		auth, err := creds.Load()
		if err != nil {
			return nil, nil, err
		}
		var ca []byte
		if r.CAFile != "" {
			if ca, err = os.ReadFile(r.CAFile); err != nil {
				return nil, nil, fmt.Errorf("caFile: %w", err)
			}
		}
		return auth, ca, nil
	}
	if !a.secrets {
		return nil, nil, nil
	}
	return a.fromSecrets(ctx, url)
}

// fromSecrets reads Argo CD's repository and repo-creds Secrets, by label,
// uncached, in Argo CD's own namespace (where Argo CD keeps them): a repository Secret whose url is url wins, else the
// repo-creds Secret whose url is the longest prefix of it.
func (a *argoCredentials) fromSecrets(ctx context.Context, url string) (transport.AuthMethod, []byte, error) {
	req, err := labels.NewRequirement("argocd.argoproj.io/secret-type", selection.In, []string{"repository", "repo-creds"})
	if err != nil {
		return nil, nil, err
	}
	var best *corev1.Secret
	bestLen := -1
	for _, ns := range a.namespaces {
		var l corev1.SecretList
		if err := a.reader.List(ctx, &l, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*req)}); err != nil {
			return nil, nil, fmt.Errorf("list Argo CD repository Secrets in %s: %w", ns, err)
		}
		for i := range l.Items {
			s := &l.Items[i]
			su := argosync.NormalizeURL(string(s.Data["url"]))
			switch s.Labels["argocd.argoproj.io/secret-type"] {
			case "repository":
				if su == argosync.NormalizeURL(url) {
					return a.secretAuth(ctx, url, s)
				}
			case "repo-creds":
				if su != "" && strings.HasPrefix(argosync.NormalizeURL(url), su) && len(su) > bestLen {
					best, bestLen = s, len(su)
				}
			}
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	return a.secretAuth(ctx, url, best)
}

// secretAuth maps an Argo CD repository Secret's keys onto gitsource's:
// username and password, sshPrivateKey with the known hosts Argo CD keeps
// in argocd-ssh-known-hosts-cm. insecure (any host key, any certificate),
// TLS client certificates, GitHub App and Google credentials are refused:
// gitgate has no such mode.
func (a *argoCredentials) secretAuth(ctx context.Context, url string, s *corev1.Secret) (transport.AuthMethod, []byte, error) {
	for _, k := range []string{"tlsClientCertData", "githubAppPrivateKey", "gcpServiceAccountKey", "bearerToken"} {
		if len(s.Data[k]) > 0 {
			return nil, nil, fmt.Errorf("Secret %s/%s: %s: %w", s.Namespace, s.Name, k, errUnsupportedCreds)
		}
	}
	if string(s.Data["insecure"]) == "true" || string(s.Data["insecureIgnoreHostKey"]) == "true" {
		return nil, nil, fmt.Errorf("Secret %s/%s: insecure: %w", s.Namespace, s.Name, errUnsupportedCreds)
	}
	data := map[string][]byte{"username": s.Data["username"], "password": s.Data["password"], "identity": s.Data["sshPrivateKey"]}
	if len(data["identity"]) > 0 {
		var cm corev1.ConfigMap
		if err := a.reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: "argocd-ssh-known-hosts-cm"}, &cm); err != nil {
			return nil, nil, fmt.Errorf("read argocd-ssh-known-hosts-cm: %w", err)
		}
		data["known_hosts"] = []byte(cm.Data["ssh_known_hosts"])
	}
	return gitsource.SecretAuth(url, data, a.insecureHTTP)
}

var errUnsupportedCreds = fmt.Errorf("not supported by gitgate")
