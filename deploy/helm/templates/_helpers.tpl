{{/* The release's name for its objects: at most 40 characters, leaving room for suffixes. */}}
{{- define "app.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of an object of one component: (dict "ctx" . "component" "api"). */}}
{{- define "app.labels" -}}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{- end -}}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The one image every container runs. */}}
{{- define "app.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding a role's URL: (dict "ctx" . "role" "migrator"). */}}
{{- define "app.secretName" -}}
{{- $db := index .ctx.Values.database .role -}}
{{- if $db.existingSecret -}}
{{ $db.existingSecret }}
{{- else if $db.url -}}
{{ include "app.fullname" .ctx }}-{{ .role }}
{{- else -}}
{{ fail (printf "database.%s: set url (the chart makes the Secret) or existingSecret (the name of a Secret you made)" .role) }}
{{- end -}}
{{- end -}}

{{/* What every pod of the chart has: pull secrets, security, placement. */}}
{{- define "app.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A container's image, security and log format. */}}
{{- define "app.container" -}}
image: {{ include "app.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end -}}

{{/*
The podFailurePolicy rules of a migrating Job, from `migrate`'s exit codes (`migrate --help`):
1 failed or refused and 2 bad usage end it (`action`: FailJob, or FailIndex in a fleet's
Indexed Job); 3 (the lock wait ran out) and 4 (interrupted) are retried; a pod evicted or
preempted (DisruptionTarget) is not counted.
*/}}
{{- define "app.podFailurePolicy" -}}
podFailurePolicy:
  rules:
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
    - action: {{ .action }}
      onExitCodes:
        containerName: migrate
        operator: In
        values: [1, 2]
    - action: Count
      onExitCodes:
        containerName: migrate
        operator: In
        values: [3, 4]
{{- end -}}

{{/*
A Deployment of the runtime role: (dict "ctx" . "component" "api" "values" .Values.api
"args" (list ...) "env" (list ...)). It waits at the schema gate: /health answers as soon as it
listens (startup, liveness), /ready once the schema is there (readiness).
*/}}
{{- define "app.deployment" -}}
{{- $ctx := .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "app.selectorLabels" . | nindent 8 }}
    spec:
      terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
      {{- include "app.podSpec" $ctx | trim | nindent 6 }}
      containers:
        - name: {{ .component }}
          {{- include "app.container" $ctx | nindent 10 }}
          command:
            {{- toYaml .args | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .values.port }}
          env:
            - name: LOG_FORMAT
              value: {{ $ctx.Values.logFormat | quote }}
            - name: DATABASE_URL_FILE
              value: /run/secrets/runtime/url
            - name: SCHEMA_WAIT_TIMEOUT
              value: {{ .values.schemaWaitTimeout | quote }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet:
              path: /health
              port: http
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 5
            failureThreshold: 2
          {{- with .lifecycle }}
          lifecycle:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          volumeMounts:
            - name: runtime
              mountPath: /run/secrets/runtime
              readOnly: true
          {{- with .values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      volumes:
        - name: runtime
          secret:
            secretName: {{ include "app.secretName" (dict "ctx" $ctx "role" "runtime") }}
            items:
              - key: {{ $ctx.Values.database.runtime.key }}
                path: url
{{- end -}}

{{/* A PodDisruptionBudget for a component: (dict "ctx" . "component" "api" "budget" ...). */}}
{{- define "app.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "app.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  {{- toYaml .budget | nindent 2 }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
{{- end -}}
