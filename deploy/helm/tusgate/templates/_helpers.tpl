{{- define "tusgate.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tusgate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tusgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tusgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tusgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tusgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tusgate.secretName" -}}
{{- .Values.existingSecret | default (include "tusgate.fullname" .) -}}
{{- end -}}

{{- define "tusgate.claimName" -}}
{{- .Values.persistence.existingClaim | default (include "tusgate.fullname" .) -}}
{{- end -}}

{{/* Whether the chart's own Secret is needed: secrets, the admin token or the Redis URL. */}}
{{- define "tusgate.hasSecret" -}}
{{- if and (not .Values.existingSecret) (or .Values.secrets .Values.adminToken .Values.redis.url) -}}true{{- end -}}
{{- end -}}

{{/*
The tusgate config: `config` from the values, with what the chart owns laid over it.
Secrets stay ${VAR} references that tusgate fills in from the pod's environment.
*/}}
{{- define "tusgate.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $server := get $config "server" | default dict -}}
{{- $_ := set $server "listen" (printf "0.0.0.0:%d" (int .Values.ports.public)) -}}
{{- $_ = set $server "admin" (printf "0.0.0.0:%d" (int .Values.ports.admin)) -}}
{{- if hasKey .Values "workers" -}}
{{- $_ = set $server "workers" .Values.workers -}}
{{- end -}}
{{- if .Values.adminToken -}}
{{- $_ = set $server "adminToken" "${TUSGATE_ADMIN_TOKEN}" -}}
{{- end -}}
{{- if .Values.tls.secretName -}}
{{- $_ = set $server "tls" (dict "cert" "/etc/tusgate/tls/tls.crt" "key" "/etc/tusgate/tls/tls.key") -}}
{{- end -}}
{{- $_ = set $config "server" $server -}}
{{- if .Values.redis.url -}}
{{- $_ = set $config "affinity" (dict "type" "redis" "redis" "${TUSGATE_REDIS_URL}") -}}
{{- if .Values.redis.locking -}}
{{- $_ = set $config "locking" (dict "type" "redis" "url" "${TUSGATE_REDIS_URL}") -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
