package argosync

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// InClusterServer and InClusterName are how an Application names the
// cluster Argo CD runs in.
const (
	InClusterServer = "https://kubernetes.default.svc"
	InClusterName   = "in-cluster"
)

// RootOf is the root an Application is enforced as: "Application
// <ns>/<name>", its source the repository URL (credentials removed) of
// each source, its URL the first source's.
func RootOf(app *argorender.Application) provenance.Root {
	var urls []string
	for _, s := range app.Spec.AllSources() {
		u := gitsource.RedactURL(s.RepoURL)
		if !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	first := ""
	if len(urls) > 0 {
		first = urls[0]
	}
	return provenance.Root{
		Name:   fmt.Sprintf("Application %s/%s", app.Namespace, app.Name),
		Source: strings.Join(urls, " + "),
		URL:    first,
	}
}

// skipReason says why an Application declares nothing in this cluster, or
// "" when it does: its destination names another cluster. This cluster is
// in-cluster, https://kubernetes.default.svc, or one of clusterNames (the
// name of the cluster Secret that points Argo CD at it).
func skipReason(app *argorender.Application, clusterNames []string) string {
	d := app.Spec.Destination
	switch {
	case d.Name != "" && (d.Name == InClusterName || slices.Contains(clusterNames, d.Name)):
		return ""
	case d.Name == "" && strings.TrimSuffix(d.Server, "/") == InClusterServer:
		return ""
	case d.Name != "":
		return fmt.Sprintf("destination cluster %q is another cluster (not in-cluster nor --argocd-cluster-name)", d.Name)
	}
	return fmt.Sprintf("destination server %q is another cluster", d.Server)
}
