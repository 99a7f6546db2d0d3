package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sources/argosync"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// bindArgoCDFlags binds the flags of --source argocd into cfg.
func bindArgoCDFlags(fs *pflag.FlagSet, cfg *server.ArgoCDConfig) {
	fs.StringArrayVar(&cfg.Namespaces, "argocd-namespace", nil, "With --source argocd: a namespace whose Applications are enforced; repeatable. The first is Argo CD's own (argocd-cm). Default: argocd.")
	fs.StringArrayVar(&cfg.ClusterNames, "argocd-cluster-name", nil, "With --source argocd: the name of Argo CD's cluster Secret for this cluster, as Applications write it in destination.name; repeatable. in-cluster and https://kubernetes.default.svc always mean this cluster; an Application for any other destination declares nothing here.")
	fs.DurationVar(&cfg.MinInterval, "argocd-min-interval", argosync.DefaultMinInterval, "With --source argocd: the shortest time between two polls of one repository and revision. A change of an Application (Argo CD's refresh annotation among them) polls at once.")
	fs.BoolVar(&cfg.RepoSecrets, "argocd-repo-secrets", false, "With --source argocd: also read repository credentials from Argo CD's repository and repo-creds Secrets in the first --argocd-namespace (needs list on Secrets there). Default: only --sources-file entries, matched by URL.")
}

// validateArgoCD checks the Argo CD flags, and, unless --source names repo
// too, that no flag of --source repo is set but --sources-file, whose
// entries give credentials by URL, and the cache: each Application names
// its own repository and revision. With repo, the Git sources of
// --repo-url or --sources-file give those credentials by URL.
func (o *serveSourceOptions) validateArgoCD(cfg *server.Config) []error {
	var errs []error
	repo := cfg.Uses(server.SourceRepo)
	if !repo && (o.repo.URL != "" || len(o.repo.Paths) > 0 || o.repo.Ref != (gitsource.Ref{}) || perSource(o.repo, false)) {
		errs = append(errs, errors.New("--source argocd excludes --repo-url, --path, the ref flags and the credential, CA and verify flags: each Application names its own repository and revision; give credentials in --sources-file"))
	}
	if !repo && cfg.Receiver.Addr != "" {
		errs = append(errs, errors.New("--source argocd excludes --receiver-bind-address: a change of an Application (Argo CD's refresh) already triggers a poll"))
	}
	for _, ns := range cfg.ArgoCD.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--argocd-namespace %q: %s", ns, msgs[0]))
		}
	}
	if cfg.ArgoCD.MinInterval <= 0 {
		errs = append(errs, fmt.Errorf("--argocd-min-interval must be positive, got %s", cfg.ArgoCD.MinInterval))
	}
	if repo {
		cfg.ArgoCD.Repositories = cfg.Sources
	} else if o.sourcesFile != "" {
		repos, err := readSources(o.sourcesFile, o.repo, false)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.ArgoCD.Repositories = repos
	}
	cfg.ArgoCD.CacheDir, cfg.ArgoCD.InsecureHTTP = o.repo.CacheDir, o.repo.Credentials.InsecureHTTP
	return errs
}
