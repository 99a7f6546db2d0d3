package argosync

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/sources/argorender"
)

// TestSourceNamespacesAreRegexp2: Argo CD v3.6.2 matches a
// /regexp/ in sourceNamespaces with regexp2 (util/regex.Match), where a
// POSIX bracket class is no class: "[[:alpha:]]" is the set {[,:,a,l,p,h}
// followed by a literal "]", so /^team-[[:alpha:]]+$/ admits no namespace
// and Argo CD refuses to sync (ErrProjectNotPermitted). Go's regexp reads
// it as letters and admits team-evil: gitgate names an agent for an
// Application Argo CD never syncs. (Checked against regexp2/v2 v2.13.0:
// Go true, regexp2 false.)
func TestSourceNamespacesAreRegexp2(t *testing.T) {
	app := &argorender.Application{Namespace: "team-evil", Name: "web"}
	app.Spec.Project = "shop"
	app.Spec.Destination.Namespace = "team-evil"
	p := &Project{SourceNamespaces: []string{"/^team-[[:alpha:]]+$/"},
		DestinationServiceAccounts: []DestinationServiceAccount{{Server: "*", Namespace: "*", DefaultServiceAccount: "deployer"}}}
	got, err := ServiceAccountFor(p, app, "argocd", InClusterServer)
	if err == nil || !strings.Contains(err.Error(), "does not admit") {
		t.Fatalf("ServiceAccountFor = %q, %v; want the project not to admit team-evil, as Argo CD's regexp2 does not", got, err)
	}
}
