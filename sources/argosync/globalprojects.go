package argosync

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// globalProjectsKey in argocd-cm lists Argo CD's global projects: an
// AppProject whose labels a selector matches inherits the named
// project's settings (settings.GetGlobalProjectsSettings).
const globalProjectsKey = "globalProjects"

// GlobalProject is one entry of argocd-cm's globalProjects.
type GlobalProject struct {
	ProjectName   string               `json:"projectName,omitempty"`
	LabelSelector metav1.LabelSelector `json:"labelSelector,omitempty"`
}

// errGlobalProjects: Argo CD stops reading globalProjects at an entry
// whose selector does not parse or whose project is missing, and reads
// none when the list does not parse, logging a warning and syncing with
// what it read so far. gitgate gives no agent instead of guessing where
// Argo CD stopped: its cache of the virtual project may predate the
// AppProject gitgate reads.
var errGlobalProjects = errors.New("argocd-cm's globalProjects cannot be read as Argo CD reads them")

// ParseGlobalProjects reads argocd-cm's globalProjects value; empty is none.
func ParseGlobalProjects(value string) ([]GlobalProject, error) {
	var gps []GlobalProject
	if value == "" {
		return nil, nil
	}
	if err := yaml.Unmarshal([]byte(value), &gps); err != nil {
		return nil, fmt.Errorf("%w: %w", errGlobalProjects, err)
	}
	return gps, nil
}

// GlobalServiceAccounts are the destinationServiceAccounts project name
// inherits from its global projects, in Argo CD v3.6.2's order
// (util/argo GetGlobalProjects and mergeVirtualProject, which append
// them after the project's own; sourceNamespaces are not inherited): for
// each globalProjects entry that names another project and whose
// selector matches this project's labels, that project's entries.
// projects are the AppProjects of Argo CD's namespace by name. An
// entry whose selector does not parse or whose project is missing is an
// error (errGlobalProjects) where Argo CD would stop reading.
func GlobalServiceAccounts(name string, projects map[string]*Project, gps []GlobalProject) ([]DestinationServiceAccount, error) {
	var out []DestinationServiceAccount
	var own map[string]string
	if p := projects[name]; p != nil {
		own = p.Labels
	}
	for _, gp := range gps {
		if gp.ProjectName == name {
			continue // a project is not its own global project
		}
		sel, err := metav1.LabelSelectorAsSelector(&gp.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("%w: selector of global project %q: %w", errGlobalProjects, gp.ProjectName, err)
		}
		if !sel.Matches(labels.Set(own)) {
			continue
		}
		global := projects[gp.ProjectName]
		if global == nil {
			return nil, fmt.Errorf("%w: global project %q not found", errGlobalProjects, gp.ProjectName)
		}
		out = append(out, global.DestinationServiceAccounts...)
	}
	return out, nil
}
