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
    email: {{ .Values.issuer.email }}
    privateKeySecretRef:
      name: {{ .Values.issuer.name }}-account-key
    solvers:
      - http01:
          ingress:
            ingressClassName: {{ .Values.ingress.className }}
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
spec:
  ca:
    secretName: {{ .Values.certManager.caIssuerName }}
{{- end }}
