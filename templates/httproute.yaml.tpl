{{- /* Mode gateway: the route from the Gateway's HTTPS listeners to Kestra's Service port that reaches 8080.
timeouts.request 0s turns the Gateway's request timeout off: the UI's server-sent events and long
downloads stay open (what the Ingress gets from its proxy timeouts). */ -}}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: kestra
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/name: kestra
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  parentRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: {{ .Gateway.Name }}
      {{- with .Gateway.Namespace }}
      namespace: {{ . }}
      {{- end }}
      {{- with .Gateway.Listener }}
      sectionName: {{ . }}
      {{- end }}
  hostnames:
    {{- range .Values.hosts }}
    - {{ . | quote }}
    {{- end }}
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: {{ .Values.ingress.path }}
      backendRefs:
        - name: {{ .Kestra.Service }}
          {{- if .ServesHTTPS }}
          # Kestra's own HTTPS (backend TLS): the BackendTLSPolicy makes the Gateway verify it.
          port: {{ .Values.app.port }}
          {{- else }}
          port: {{ .Kestra.ServicePort.Number }}
          {{- end }}
      timeouts:
        request: {{ .Values.gateway.requestTimeout }}
