{{- $class := .Values.ingress.className -}}
{{- /* .IssuerAnnotations: the issuer's cert-manager.io annotation, decided once for Ingress and Gateway. */ -}}
{{- $annotations := dict -}}
{{- range $key, $value := .IssuerAnnotations }}
{{- $_ := set $annotations $key $value }}
{{- end }}
{{- if eq $class "nginx" }}
{{- /* Kestra's UI streams logs and executions over SSE and WebSocket: no buffering, long timeouts. */}}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/proxy-buffering" "off" }}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/proxy-read-timeout" "3600" }}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/proxy-send-timeout" "3600" }}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/proxy-body-size" "0" }}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/ssl-redirect" "true" }}
{{- else if eq $class "traefik" }}
{{- $_ := set $annotations "traefik.ingress.kubernetes.io/router.entrypoints" "websecure" }}
{{- $_ := set $annotations "traefik.ingress.kubernetes.io/router.tls" "true" }}
{{- end }}
{{- $annotations = merge (deepCopy .Values.ingress.annotations) $annotations -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Values.ingress.name }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/name: kestra
    app.kubernetes.io/managed-by: kubectl-kestra-tls
  annotations:
    {{- toYaml $annotations | nindent 4 }}
spec:
  ingressClassName: {{ $class }}
  tls:
    - hosts:
        {{- range .Values.hosts }}
        - {{ . | quote }}
        {{- end }}
      secretName: {{ .Values.ingress.tlsSecretName }}
  rules:
    {{- $root := . }}
    {{- range .Values.hosts }}
    - host: {{ . | quote }}
      http:
        paths:
          - path: {{ $root.Values.ingress.path }}
            pathType: {{ $root.Values.ingress.pathType }}
            backend:
              service:
                name: {{ $root.Kestra.Service }}
                port:
                  {{- if $root.Kestra.ServicePort.Name }}
                  name: {{ $root.Kestra.ServicePort.Name }}
                  {{- else }}
                  number: {{ $root.Kestra.ServicePort.Number }}
                  {{- end }}
    {{- end }}
