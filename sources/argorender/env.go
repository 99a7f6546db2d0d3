package argorender

import "os"

// env is the build environment Argo CD's repo server gives a source
// (reposerver/repository newEnv): what ${ARGOCD_APP_NAME} and the others
// expand to in helm parameters, kustomize images and labels, and jsonnet
// variables.
type env map[string]string

func newEnv(appName, destNamespace, project, revision string, src *ApplicationSource) env {
	return env{
		"ARGOCD_APP_NAME":                   appName,
		"ARGOCD_APP_NAMESPACE":              destNamespace,
		"ARGOCD_APP_PROJECT_NAME":           project,
		"ARGOCD_APP_REVISION":               revision,
		"ARGOCD_APP_REVISION_SHORT":         shorten(revision, 7),
		"ARGOCD_APP_REVISION_SHORT_8":       shorten(revision, 8),
		"ARGOCD_APP_SOURCE_REPO_URL":        src.RepoURL,
		"ARGOCD_APP_SOURCE_PATH":            src.Path,
		"ARGOCD_APP_SOURCE_TARGET_REVISION": src.TargetRevision,
	}
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// subst expands $VAR and ${VAR} from e alone, "$$" to "$", and an
// unknown variable to "", as Argo CD's Env.Envsubst (os.Expand).
func (e env) subst(s string) string {
	return os.Expand(s, func(k string) string {
		if k == "$" {
			return "$"
		}
		return e[k]
	})
}
