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
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: {{ .Values.certManager.caIssuerName }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  ca:
    secretName: {{ .Values.certManager.caIssuerName }}
{{- end }}
