{{- /*
The webhook's matchConditions, written from the same values as gitgate
serve's identity flags (templates/_helpers.tpl "gitgate.identities"), so the
two cannot drift apart. manifests/manifests_test.go evaluates the rendered
conditions with cel-go against gitgate's Go rules, for the default values
and for a full values file. A user pattern's "*" matches any run of
characters, as webhook/identity.go's glob does.
*/ -}}

{{- /* gitgate.cel.users: CEL that is true when the string expression
.subject matches one of .patterns: exact names with in (or ==), a single
trailing "*" with startsWith, any other "*" with an anchored RE2 regex. */ -}}
{{- define "gitgate.cel.users" -}}
{{- $exact := list -}}
{{- $terms := list -}}
{{- range .patterns -}}
{{- $head := trimSuffix "*" . -}}
{{- if not (contains "*" .) -}}
{{- $exact = append $exact . -}}
{{- else if not (contains "*" $head) -}}
{{- $terms = append $terms (printf "%s.startsWith(%s)" $.subject (toJson $head)) -}}
{{- else -}}
{{- $parts := list -}}
{{- range splitList "*" . -}}{{- $parts = append $parts (regexQuoteMeta .) -}}{{- end -}}
{{- $terms = append $terms (printf "%s.matches(%s)" $.subject (toJson (printf "^%s$" (join ".*" $parts)))) -}}
{{- end -}}
{{- end -}}
{{- if eq (len $exact) 1 -}}
{{- $terms = prepend $terms (printf "%s == %s" .subject (toJson (first $exact))) -}}
{{- else if $exact -}}
{{- $terms = prepend $terms (printf "%s in %s" .subject (include "gitgate.cel.list" $exact)) -}}
{{- end -}}
{{- join " || " $terms | default "false" -}}
{{- end -}}

{{- /* gitgate.cel.list: a CEL list literal of strings. */ -}}
{{- define "gitgate.cel.list" -}}
{{- $items := list -}}
{{- range . }}{{ $items = append $items (toJson .) }}{{ end -}}
[{{ join ", " $items }}]
{{- end -}}

{{- /* gitgate.cel.member: true when the caller is one of .users or in
one of .groups. */ -}}
{{- define "gitgate.cel.member" -}}
{{- $terms := list (include "gitgate.cel.users" (dict "subject" "request.userInfo.username" "patterns" .users)) -}}
{{- with .groups -}}
{{- $terms = append $terms (printf "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in %s)" (include "gitgate.cel.list" .)) -}}
{{- end -}}
({{ join " || " $terms }})
{{- end -}}

{{- /* gitgate.cel.target: true when the service account a token is
requested for (request.namespace, request.name) is one of .users or in one
of .groups, with the identity serviceAccountUser in webhook/token.go gives
it: system:serviceaccount:NS:NAME, in system:serviceaccounts,
system:serviceaccounts:NS and system:authenticated. Patterns no service
account can match are left out. */ -}}
{{- define "gitgate.cel.target" -}}
{{- $prefix := "system:serviceaccount:" -}}
{{- $terms := list -}}
{{- range .users -}}
{{- $rest := trimPrefix $prefix . -}}
{{- if and (hasPrefix $prefix .) (eq $rest "*") -}}
{{- $terms = append $terms "true" -}}
{{- else if and (hasPrefix $prefix .) (regexMatch "^[^*:]+:[*]$" $rest) -}}
{{- $terms = append $terms (printf "request.namespace == %s" (toJson (trimSuffix ":*" $rest))) -}}
{{- else if and (hasPrefix $prefix .) (regexMatch "^[^*:]+:[^*:]+$" $rest) -}}
{{- $nsName := splitList ":" $rest -}}
{{- $terms = append $terms (printf "request.namespace == %s && request.name == %s" (toJson (first $nsName)) (toJson (last $nsName))) -}}
{{- else if contains "*" . -}}
{{- $terms = append $terms (include "gitgate.cel.users" (dict "subject" (printf "(%s + request.namespace + \":\" + request.name)" (toJson $prefix)) "patterns" (list .))) -}}
{{- end -}}
{{- end -}}
{{- range .groups -}}
{{- if has . (list "system:serviceaccounts" "system:authenticated") -}}
{{- $terms = append $terms "true" -}}
{{- else if hasPrefix "system:serviceaccounts:" . -}}
{{- $terms = append $terms (printf "request.namespace == %s" (toJson (trimPrefix "system:serviceaccounts:" .))) -}}
{{- end -}}
{{- end -}}
{{- if has "true" $terms }}true{{ else }}({{ join " || " (uniq $terms) | default "false" }}){{ end -}}
{{- end -}}

{{- /* gitgate.cel.resources: true when the request's resource is one of
the GROUP/RESOURCE entries (GROUP/* is a whole group). */ -}}
{{- define "gitgate.cel.resources" -}}
{{- $terms := list -}}
{{- range . -}}
{{- $group := regexReplaceAll "/[^/]*$" . "" -}}
{{- $resource := regexReplaceAll "^.*/" . "" -}}
{{- if eq $resource "*" -}}
{{- $terms = append $terms (printf "request.resource.group == %s" (toJson $group)) -}}
{{- else -}}
{{- $terms = append $terms (printf "request.resource.group == %s && request.resource.resource == %s" (toJson $group) (toJson $resource)) -}}
{{- end -}}
{{- end -}}
({{ join ") || (" $terms }})
{{- end -}}

{{- /* gitgate.matchConditions: the list for the webhook. */ -}}
{{- define "gitgate.matchConditions" -}}
{{- $ids := include "gitgate.identities" . | fromJson -}}
{{- $exempt := dict "users" $ids.exemptUsers "groups" $ids.exemptGroups -}}
{{- $agent := dict "users" $ids.agents "groups" $ids.agentGroups -}}
{{- $controller := dict "users" $ids.controllers "groups" $ids.controllerGroups -}}
{{- /* A people proxy is judged as a person, whatever --controller says. */ -}}
{{- $controllerCaller := printf "(%s && !%s)" (include "gitgate.cel.member" $controller) (include "gitgate.cel.member" (dict "users" $ids.peopleProxies)) -}}
{{- /* A scoped agent's token (--agent-for) is an agent's. */ -}}
{{- $privileged := dict "users" (concat $ids.exemptUsers $ids.agents $ids.agentForSubjects) "groups" (concat $ids.exemptGroups $ids.agentGroups) -}}
{{- $token := `request.resource.group == "" && request.resource.resource == "serviceaccounts" && has(request.subResource) && request.subResource == "token"` -}}
{{- $privilegedTarget := include "gitgate.cel.target" $privileged -}}
{{- /* A person may mint the token of a service account that is no
controller: it makes the holder no more than a person. */ -}}
{{- $escalates := $controllerCaller -}}
{{- $controllerTarget := include "gitgate.cel.target" $controller -}}
{{- if ne $controllerTarget "true" }}{{ $escalates = printf "(%s || !%s)" $escalates $controllerTarget }}{{ end -}}
- name: skip-exempt-identities
  expression: {{ printf "!%s" (include "gitgate.cel.member" $exempt) | quote }}
- name: skip-gitops-agents
  expression: {{ printf "!%s || (%s && %s)" (include "gitgate.cel.member" $agent) $token $privilegedTarget | quote }}
- name: skip-other-service-account-tokens
  expression: {{ printf "!(%s && !%s && %s)" $token $privilegedTarget $escalates | quote }}
- name: skip-controller-subresources
  expression: {{ printf "!(%s && has(request.subResource) && request.subResource in [\"status\", \"resize\", \"finalize\"] && request.operation == \"UPDATE\" && !(request.resource.group in [\"source.toolkit.fluxcd.io\", \"source.extensions.fluxcd.io\"] && request.subResource == \"status\") && %s)" $controllerCaller (include "gitgate.cel.sameMetadata" .) | quote }}
- name: skip-cluster-infrastructure
  expression: {{ printf "!(%s)" (include "gitgate.cel.resources" $ids.skipResources) | quote }}
{{- end -}}

{{- /* gitgate.cel.sameMetadata: a status-like write keeps labels,
annotations, ownerReferences and finalizers as they were. */ -}}
{{- define "gitgate.cel.sameMetadata" -}}
{{- $terms := list -}}
{{- range $field, $empty := dict "labels" "{}" "annotations" "{}" "ownerReferences" "[]" "finalizers" "[]" -}}
{{- $terms = append $terms (printf "(has(object.metadata.%s) ? object.metadata.%s : %s) == (has(oldObject.metadata.%s) ? oldObject.metadata.%s : %s)" $field $field $empty $field $field $empty) -}}
{{- end -}}
{{- join " && " $terms -}}
{{- end -}}
