{{- /* Mode gateway: a Gateway API Gateway that terminates TLS for every host with one Secret, which
cert-manager's gateway-shim fills from the annotated issuer (one Certificate named after the Secret). */ -}}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {{ .Gateway.Name }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/name: kestra
    app.kubernetes.io/managed-by: kubectl-kestra-tls
  {{- with .Gateway.Annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  gatewayClassName: {{ .Values.gateway.className }}
  listeners:
    {{- range $i, $host := .Values.hosts }}
    - name: https-{{ $i }}
      hostname: {{ $host | quote }}
      port: 443
      protocol: HTTPS
      tls:
        mode: Terminate
        certificateRefs:
          - kind: Secret
            name: {{ $.Values.ingress.tlsSecretName }}
      allowedRoutes:
        namespaces:
          from: Same
    {{- end }}
    {{- if .Gateway.HTTPListener }}
    # Plain HTTP for ACME's HTTP-01 challenges: cert-manager attaches its solver's HTTPRoute here.
    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes:
        namespaces:
          from: Same
    {{- end }}
