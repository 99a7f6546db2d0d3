{{- /*
One gitgate per cluster: its webhook configuration is cluster-scoped, so the
objects keep the fixed names the flags' defaults and manifests/ use
(gitgate, gitgate-webhook-tls, gitgate-break-glass, gitgate-sync).
*/ -}}

{{- define "gitgate.labels" -}}
app.kubernetes.io/name: gitgate
app.kubernetes.io/part-of: gitgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{- define "gitgate.selectorLabels" -}}
app.kubernetes.io/name: gitgate
app.kubernetes.io/component: webhook
{{- end -}}

{{- /* gitgate.identities: the identity and resource lists, validated,
as JSON. The flags (templates/deployment.yaml) and the matchConditions
(templates/_cel.tpl) both read them. The built-in exempt identities are
webhook.DefaultExemptUsers and DefaultExemptGroups, which no flag removes;
--exempt-user and --exempt-group add to them. */ -}}
{{- define "gitgate.identities" -}}
{{- $v := .Values.identities -}}
{{- range $key := list "agents" "controllers" "skipResources" -}}
{{- if not (index $v $key) -}}
{{- fail (printf "identities.%s must not be empty: gitgate serve takes its built-in defaults when the flag is not given" $key) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "exemptUsers" "exemptGroups" "agents" "agentGroups" "controllers" "controllerGroups" "skipResources" -}}
{{- range (index $v $key) -}}
{{- if not (trim .) -}}
{{- fail (printf "identities.%s holds an empty entry" $key) -}}
{{- end -}}
{{- if and (hasSuffix "Groups" $key) (contains "*" .) -}}
{{- fail (printf "identities.%s %q: a group is matched exactly, it takes no *" $key .) -}}
{{- end -}}
{{- if and (eq $key "skipResources") (not (regexMatch "^[a-z0-9.-]*/([a-z0-9-]+|\\*)$" .)) -}}
{{- fail (printf "identities.skipResources %q: want GROUP/RESOURCE, GROUP/* or /RESOURCE for the core group" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $key := list "agentFor" "annotators" -}}
{{- range (index $v $key) -}}
{{- if not (regexMatch "^.*[^ =].*=([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?/[A-Z][A-Za-z0-9]*$" .) -}}
{{- fail (printf "identities.%s %q: want SUBJECT=GROUP/KIND, e.g. system:serviceaccount:argocd:argocd-applicationset-controller=argoproj.io/Application" $key .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $v.peopleProxies -}}
{{- if not (trim .) -}}
{{- fail "identities.peopleProxies holds an empty entry" -}}
{{- end -}}
{{- end -}}
{{- range $v.gitopsKinds -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[A-Z][A-Za-z0-9]*)?$" .) -}}
{{- fail (printf "identities.gitopsKinds %q: want GROUP or GROUP/KIND, e.g. fluxcd.controlplane.io/ResourceSet" .) -}}
{{- end -}}
{{- end -}}
{{- /* webhook.DefaultAgentFor and DefaultPeopleProxies: an empty list
passes no flag and keeps gitgate's defaults, which the matchConditions
need too (peopleProxies, the scoped agents' service accounts). */ -}}
{{- $agentFor := $v.agentFor | default (list "system:serviceaccount:argocd:argocd-applicationset-controller=argoproj.io/Application") -}}
{{- $peopleProxies := $v.peopleProxies | default (list "system:serviceaccount:argocd:argocd-server") -}}
{{- $agentForSubjects := list -}}
{{- range $agentFor }}{{ $agentForSubjects = append $agentForSubjects (regexReplaceAll "=[^=]*$" . "") }}{{ end -}}
{{- $builtinUsers := list "system:serviceaccount:kube-system:*" "system:kube-controller-manager" "system:kube-scheduler" "system:apiserver" -}}
{{- $builtinGroups := list "system:nodes" "system:serviceaccounts:kube-system" "system:bootstrappers" -}}
{{- dict
  "exemptUsers" (concat $builtinUsers $v.exemptUsers)
  "exemptGroups" (concat $builtinGroups $v.exemptGroups)
  "extraExemptUsers" $v.exemptUsers
  "extraExemptGroups" $v.exemptGroups
  "agents" $v.agents
  "agentGroups" $v.agentGroups
  "controllers" $v.controllers
  "controllerGroups" $v.controllerGroups
  "agentFor" $v.agentFor
  "agentForSubjects" $agentForSubjects
  "annotators" $v.annotators
  "peopleProxies" $peopleProxies
  "peopleProxyValues" $v.peopleProxies
  "skipResources" $v.skipResources
  "gitopsKinds" $v.gitopsKinds
  | toJson -}}
{{- end -}}

{{- /* gitgate.excludedNamespaces: never sent to gitgate; its own
namespace and its dry-run sandbox always are. */ -}}
{{- define "gitgate.excludedNamespaces" -}}
{{- concat .Values.webhook.excludedNamespaces (list .Release.Namespace .Values.dryRun.namespace) | uniq | toJson -}}
{{- end -}}

{{- define "gitgate.validate" -}}
{{- $kinds := splitList "," .Values.source.kind -}}
{{- range $i, $k := $kinds -}}
{{- if not (has $k (list "repo" "flux" "argocd")) -}}
{{- fail (printf "source.kind %q: want repo, flux or argocd, or several comma-separated" $.Values.source.kind) -}}
{{- end -}}
{{- if has $k (slice $kinds 0 $i) -}}
{{- fail (printf "source.kind %q: %s named twice" $.Values.source.kind $k) -}}
{{- end -}}
{{- end -}}
{{- if and (has "argocd" (splitList "," .Values.source.kind)) (not .Values.source.argocd.namespaces) -}}
{{- fail "source.argocd.namespaces: name at least Argo CD's own namespace" -}}
{{- end -}}
{{- if not (has .Values.mode (list "enforce" "warn" "audit")) -}}
{{- fail (printf "mode %q: want enforce, warn or audit" .Values.mode) -}}
{{- end -}}
{{- if not (has .Values.connect (list "deny-people" "judge" "allow")) -}}
{{- fail (printf "connect %q: want deny-people, judge or allow" .Values.connect) -}}
{{- end -}}
{{- if not (has .Values.certificates.mode (list "cert-manager" "self-managed" "files")) -}}
{{- fail (printf "certificates.mode %q: want cert-manager, self-managed or files" .Values.certificates.mode) -}}
{{- end -}}
{{- if and (eq .Values.certificates.mode "files") (not .Values.certificates.secretName) -}}
{{- fail "certificates.mode files needs certificates.secretName, a Secret with tls.crt and tls.key" -}}
{{- end -}}
{{- if and (has "repo" (splitList "," .Values.source.kind)) (not .Values.source.repo.url) -}}
{{- fail "source.repo.url is required with source.kind repo" -}}
{{- end -}}
{{- $refs := 0 -}}
{{- range $k, $ref := .Values.source.repo.ref }}{{ if $ref }}{{ $refs = add1 $refs }}{{ end }}{{ end -}}
{{- if and (has "repo" (splitList "," .Values.source.kind)) (ne (int $refs) 1) -}}
{{- fail "source.repo.ref: set exactly one of branch, tag, semver or commit" -}}
{{- end -}}
{{- $sandbox := .Values.dryRun.namespace -}}
{{- if or (not $sandbox) (eq $sandbox .Release.Namespace) (hasPrefix "kube-" $sandbox) (has $sandbox (list "default" "flux-system" "argocd")) -}}
{{- fail "dryRun.namespace: name a namespace of its own, not empty, not the release namespace, default, kube-* or a GitOps agent's: gitgate may create anything there, and it is left out of the webhook" -}}
{{- end -}}
{{- if and .Values.audit.file.enabled (or (le (int64 .Values.audit.file.maxBytes) 0) (lt (int .Values.audit.file.maxBackups) 0)) -}}
{{- fail "audit.file: maxBytes must be positive and maxBackups at least 0" -}}
{{- end -}}
{{- end -}}

{{- /* gitgate.auditVolumeBytes: room for the live audit file, its
backups, and one more file: rotation happens between records, so the live
file may pass maxBytes by one record before it is rotated. */ -}}
{{- define "gitgate.auditVolumeBytes" -}}
{{- mul (int64 .Values.audit.file.maxBytes) (add (int .Values.audit.file.maxBackups) 2) -}}
{{- end -}}

{{- /* gitgate.sourceArgs: the flags that say what gitgate enforces. */ -}}
{{- define "gitgate.sourceArgs" -}}
{{- $kinds := splitList "," .Values.source.kind -}}
{{- if ne .Values.source.kind "repo" }}
- {{ printf "--source=%s" .Values.source.kind | quote }}
{{- end }}
{{- if has "flux" $kinds }}
{{- range .Values.source.flux.namespaces }}
- {{ printf "--flux-namespace=%v" . | quote }}
{{- end }}
- {{ printf "--flux-min-interval=%v" .Values.source.flux.minInterval | quote }}
{{- end }}
{{- if has "argocd" $kinds }}
{{- range .Values.source.argocd.namespaces }}
- {{ printf "--argocd-namespace=%v" . | quote }}
{{- end }}
{{- range .Values.source.argocd.clusterNames }}
- {{ printf "--argocd-cluster-name=%v" . | quote }}
{{- end }}
- {{ printf "--argocd-min-interval=%v" .Values.source.argocd.minInterval | quote }}
{{- if .Values.source.argocd.repoSecrets }}
- --argocd-repo-secrets
{{- end }}
{{- end }}
{{- if has "repo" $kinds }}
{{- $repo := .Values.source.repo }}
- {{ printf "--repo-url=%v" ($repo.url) | quote }}
{{- range $flag := list "branch" "tag" "semver" "commit" }}
{{- with index $repo.ref $flag }}
- {{ printf "--%s=%s" $flag . | quote }}
{{- end }}
{{- end }}
- {{ printf "--interval=%v" ($repo.interval) | quote }}
{{- range $repo.paths }}
- {{ printf "--path=%v" . | quote }}
{{- end }}
{{- end }}
{{- $dir := "/var/run/gitgate/git" -}}
{{- $keys := .Values.source.credentials.keys -}}
{{- if and .Values.source.credentials.secretName (has "repo" (splitList "," .Values.source.kind)) -}}
{{- range $key, $flag := dict "username" "git-username-file" "password" "git-password-file" "token" "git-token-file" "sshKey" "git-ssh-key-file" "sshKeyPassphrase" "git-ssh-key-passphrase-file" "knownHosts" "git-known-hosts-file" "ca" "git-ca-file" }}
{{- with index $keys $key }}
- {{ printf "--%s=%s/%s" $flag $dir . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
gitgate.driftScan is non-empty when the drift scan runs.
*/}}
{{- define "gitgate.driftScan" -}}
{{- $i := toString .Values.driftScan.interval -}}
{{- if not (has $i (list "0" "0s" "0m" "0h" "")) -}}on{{- end -}}
{{- end -}}
