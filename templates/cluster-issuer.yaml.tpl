{{- if eq .Values.issuer.type "letsencrypt" -}}
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: {{ .Values.issuer.name }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  acme:
    server: {{ .Values.issuer.acmeServer }}
    {{- with .Values.issuer.email }}
    email: {{ . }}
    {{- end }}
    {{- with .ACME }}
    {{- with .CABundle }}
    # The CA that signs the ACME server's HTTPS certificate (--acme-ca-bundle).
    caBundle: {{ . }}
    {{- end }}
    {{- if .EABKeyID }}
    # The key is in this Secret only, generated from certs/ (--eab-hmac-key-file).
    externalAccountBinding:
      keyID: {{ .EABKeyID | quote }}
      keySecretRef:
        name: {{ .EABSecretName }}
        key: {{ .EABSecretKey }}
    {{- end }}
    {{- end }}
    privateKeySecretRef:
      name: {{ .Values.issuer.name }}-account-key
    solvers:
      {{- if and .ACME .ACME.Solvers }}
      # From --solver-file.
      {{- .ACME.Solvers | trim | nindent 6 }}
      {{- else if eq .Values.mode "gateway" }}
      # HTTP-01 through the Gateway's port-80 listener: cert-manager attaches its solver's HTTPRoute there.
      - http01:
          gatewayHTTPRoute:
            parentRefs:
              - kind: Gateway
                name: {{ .Values.gateway.name }}
                sectionName: http
      {{- else }}
      - http01:
          {{- if .Values.ingress.className }}
          ingress:
            ingressClassName: {{ .Values.ingress.className }}
          {{- else }}
          # The cluster's default IngressClass serves the solver's Ingress, as it serves Kestra's.
          ingress: {}
          {{- end }}
      {{- end }}
{{- else -}}
{{- /* Our CA, as a namespaced Issuer beside Kestra by default: only who may create Certificates in this
namespace can use it, and it signs only the names its issuer certificate permits. */ -}}
apiVersion: cert-manager.io/v1
kind: {{ ternary "ClusterIssuer" "Issuer" .Values.certManager.clusterIssuer }}
metadata:
  name: {{ .Values.certManager.caIssuerName }}
  {{- if not .Values.certManager.clusterIssuer }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
  {{- with .Values.certificates.rotation }}
  # rotate-ca's step, for `kubectl kestra-tls status`: trust (clients get the next CA), issue (this issuer
  # is the next CA's).
  annotations:
    kestra-tls.io/ca-rotation: {{ . }}
  {{- end }}
spec:
  ca:
    secretName: {{ .Values.certManager.caIssuerName }}
{{- end }}
