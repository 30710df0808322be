{{- /* Backend TLS: the Gateway connects to Kestra's own HTTPS port and verifies its certificate for the
Service's DNS name against our CA (the ConfigMap generated beside it). */ -}}
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata:
  name: {{ .Kestra.Service }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/name: kestra
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  targetRefs:
    - group: ""
      kind: Service
      name: {{ .Kestra.Service }}
      sectionName: https
  validation:
    hostname: {{ .Gateway.BackendHost }}
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: {{ .Gateway.BackendCA }}
