package argorender

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The fields of argoproj.io/v1alpha1 that gitgate reads, with Argo CD
// v3.6.2's JSON names (pkg/apis/application/v1alpha1/types.go). Fields
// gitgate does not reproduce are kept raw so that their presence fails
// the render instead of being dropped.

// Application is an Argo CD Application.
type Application struct {
	Namespace string `json:"-"`
	Name      string `json:"-"`
	Spec      ApplicationSpec
}

// ApplicationSpec is an Application's spec.
type ApplicationSpec struct {
	Source            *ApplicationSource  `json:"source,omitempty"`
	Sources           []ApplicationSource `json:"sources,omitempty"`
	SourceHydrator    json.RawMessage     `json:"sourceHydrator,omitempty"`
	Destination       Destination         `json:"destination"`
	Project           string              `json:"project"`
	SyncPolicy        *SyncPolicy         `json:"syncPolicy,omitempty"`
	IgnoreDifferences []IgnoreDifference  `json:"ignoreDifferences,omitempty"`
}

// Destination is where an Application syncs to.
type Destination struct {
	Server    string `json:"server,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// SyncPolicy holds the sync options gitgate reads.
type SyncPolicy struct {
	SyncOptions              []string                  `json:"syncOptions,omitempty"`
	ManagedNamespaceMetadata *ManagedNamespaceMetadata `json:"managedNamespaceMetadata,omitempty"`
}

// ManagedNamespaceMetadata are the labels and annotations of the
// destination namespace under CreateNamespace=true.
type ManagedNamespaceMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// IgnoreDifference is one entry of spec.ignoreDifferences.
type IgnoreDifference struct {
	Group                 string   `json:"group,omitempty"`
	Kind                  string   `json:"kind"`
	Name                  string   `json:"name,omitempty"`
	Namespace             string   `json:"namespace,omitempty"`
	JSONPointers          []string `json:"jsonPointers,omitempty"`
	JQPathExpressions     []string `json:"jqPathExpressions,omitempty"`
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// ApplicationSource is one source of an Application.
type ApplicationSource struct {
	RepoURL        string                      `json:"repoURL"`
	Path           string                      `json:"path,omitempty"`
	TargetRevision string                      `json:"targetRevision,omitempty"`
	Helm           *ApplicationSourceHelm      `json:"helm,omitempty"`
	Kustomize      *ApplicationSourceKustomize `json:"kustomize,omitempty"`
	Directory      *ApplicationSourceDirectory `json:"directory,omitempty"`
	Plugin         json.RawMessage             `json:"plugin,omitempty"`
	Chart          string                      `json:"chart,omitempty"`
	Ref            string                      `json:"ref,omitempty"`
	Name           string                      `json:"name,omitempty"`
	TagPrefix      string                      `json:"tagPrefix,omitempty"`
}

// ApplicationSourceHelm is a source's helm section.
type ApplicationSourceHelm struct {
	ValueFiles              []string            `json:"valueFiles,omitempty"`
	Parameters              []HelmParameter     `json:"parameters,omitempty"`
	ReleaseName             string              `json:"releaseName,omitempty"`
	Values                  string              `json:"values,omitempty"`
	FileParameters          []HelmFileParameter `json:"fileParameters,omitempty"`
	Version                 string              `json:"version,omitempty"`
	PassCredentials         bool                `json:"passCredentials,omitempty"`
	IgnoreMissingValueFiles bool                `json:"ignoreMissingValueFiles,omitempty"`
	SkipCrds                bool                `json:"skipCrds,omitempty"`
	ValuesObject            json.RawMessage     `json:"valuesObject,omitempty"`
	Namespace               string              `json:"namespace,omitempty"`
	KubeVersion             string              `json:"kubeVersion,omitempty"`
	APIVersions             []string            `json:"apiVersions,omitempty"`
	SkipTests               bool                `json:"skipTests,omitempty"`
	SkipSchemaValidation    bool                `json:"skipSchemaValidation,omitempty"`
}

// HelmParameter is a --set (or --set-string with ForceString).
type HelmParameter struct {
	Name        string `json:"name,omitempty"`
	Value       string `json:"value,omitempty"`
	ForceString bool   `json:"forceString,omitempty"`
}

// HelmFileParameter is a --set-file.
type HelmFileParameter struct {
	Name string `json:"name,omitempty"`
	Path string `json:"path,omitempty"`
}

// ApplicationSourceKustomize is a source's kustomize section: what Argo
// CD's `kustomize edit` calls change before the build.
type ApplicationSourceKustomize struct {
	NamePrefix                string             `json:"namePrefix,omitempty"`
	NameSuffix                string             `json:"nameSuffix,omitempty"`
	Images                    []string           `json:"images,omitempty"`
	CommonLabels              map[string]string  `json:"commonLabels,omitempty"`
	Version                   string             `json:"version,omitempty"`
	CommonAnnotations         map[string]string  `json:"commonAnnotations,omitempty"`
	ForceCommonLabels         bool               `json:"forceCommonLabels,omitempty"`
	ForceCommonAnnotations    bool               `json:"forceCommonAnnotations,omitempty"`
	Namespace                 string             `json:"namespace,omitempty"`
	CommonAnnotationsEnvsubst bool               `json:"commonAnnotationsEnvsubst,omitempty"`
	Replicas                  []KustomizeReplica `json:"replicas,omitempty"`
	Patches                   []json.RawMessage  `json:"patches,omitempty"`
	Components                []string           `json:"components,omitempty"`
	IgnoreMissingComponents   bool               `json:"ignoreMissingComponents,omitempty"`
	LabelWithoutSelector      bool               `json:"labelWithoutSelector,omitempty"`
	KubeVersion               string             `json:"kubeVersion,omitempty"`
	APIVersions               []string           `json:"apiVersions,omitempty"`
	LabelIncludeTemplates     bool               `json:"labelIncludeTemplates,omitempty"`
}

// KustomizeReplica is `kustomize edit set replicas name=count`.
type KustomizeReplica struct {
	Name  string          `json:"name"`
	Count json.RawMessage `json:"count"`
}

// IntCount is the replica count, an integer or a string holding one, as
// Argo CD's GetIntCount reads intstr.IntOrString.
func (r KustomizeReplica) IntCount() (int, error) {
	var n int
	if err := json.Unmarshal(r.Count, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(r.Count, &s); err != nil {
		return 0, fmt.Errorf("replicas %s: count %s is neither an integer nor a string", r.Name, r.Count)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("expected integer value for count. Received: %s", s)
	}
	return n, nil
}

// ApplicationSourceDirectory is a source's directory section.
type ApplicationSourceDirectory struct {
	Recurse                bool                     `json:"recurse,omitempty"`
	Jsonnet                ApplicationSourceJsonnet `json:"jsonnet,omitempty"`
	Exclude                string                   `json:"exclude,omitempty"`
	Include                string                   `json:"include,omitempty"`
	DisableExtensionFilter bool                     `json:"disableExtensionFilter,omitempty"`
}

// ApplicationSourceJsonnet holds jsonnet's external variables, top-level
// arguments and library paths.
type ApplicationSourceJsonnet struct {
	ExtVars []JsonnetVar `json:"extVars,omitempty"`
	TLAs    []JsonnetVar `json:"tlas,omitempty"`
	Libs    []string     `json:"libs,omitempty"`
}

// JsonnetVar is one variable; Code evaluates Value as jsonnet.
type JsonnetVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Code  bool   `json:"code,omitempty"`
}

// DecodeApplication reads an Application from its object (as the API
// server or Git holds it).
func DecodeApplication(obj map[string]any) (*Application, error) {
	meta, _ := obj["metadata"].(map[string]any)
	app := &Application{}
	app.Name, _ = meta["name"].(string)
	app.Namespace, _ = meta["namespace"].(string)
	spec, _ := obj["spec"].(map[string]any)
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("Application %s/%s: %w", app.Namespace, app.Name, err)
	}
	if err := json.Unmarshal(b, &app.Spec); err != nil {
		return nil, fmt.Errorf("Application %s/%s: spec: %w", app.Namespace, app.Name, err)
	}
	return app, nil
}

// HasMultipleSources is Argo CD's: spec.sources set wins over
// spec.source.
func (s *ApplicationSpec) HasMultipleSources() bool { return len(s.Sources) > 0 }

// AllSources lists the sources Argo CD renders: spec.sources, or
// spec.source alone.
func (s *ApplicationSpec) AllSources() []ApplicationSource {
	if s.HasMultipleSources() {
		return s.Sources
	}
	if s.Source != nil {
		return []ApplicationSource{*s.Source}
	}
	return nil
}

// HasSyncOption reports whether spec.syncPolicy.syncOptions holds opt
// ("CreateNamespace=true").
func (s *ApplicationSpec) HasSyncOption(opt string) bool {
	if s.SyncPolicy == nil {
		return false
	}
	for _, o := range s.SyncPolicy.SyncOptions {
		if o == opt {
			return true
		}
	}
	return false
}

// InstanceName is how Argo CD names the Application in tracking and in
// `.argocd-source-<app>.yaml`: its name in the controller's namespace,
// namespace_name elsewhere (Application.InstanceName).
func (a *Application) InstanceName(controllerNamespace string) string {
	if a.Namespace == "" || a.Namespace == controllerNamespace {
		return a.Name
	}
	return a.Namespace + "_" + a.Name
}
