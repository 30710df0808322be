{{- /* --trust-manager: the outbound trust as trust-manager keeps it, in the ConfigMap {{ .PublicOutbound.ConfigMap }}
of Kestra's namespace: its default CA package (the public roots, updated with trust-manager) and the
--trust-ca certificates, as PEM and as a JKS (password "changeit": it guards nothing). A Bundle is
cluster-wide; the name carries the namespace so that two installs keep their own. */ -}}
{{- $o := .PublicOutbound -}}
apiVersion: trust.cert-manager.io/v1alpha1
kind: Bundle
metadata:
  name: {{ $o.ConfigMap }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  sources:
    - useDefaultCAs: true
    {{- with $o.InLine }}
    - inLine: |
        {{- . | trimSuffix "\n" | nindent 8 }}
    {{- end }}
  target:
    configMap:
      key: outbound-ca-bundle.pem
    additionalFormats:
      jks:
        key: outbound-truststore.jks
        # trust-manager's default, written out: the API server fills it in anyway, and an apply that left it
        # out would differ from what the cluster holds.
        password: changeit
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: {{ $o.Namespace }}
