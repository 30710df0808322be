# Puts the objects that name no namespace into {{ .Values.namespace }}; cert-manager's CA Secret keeps its own.
apiVersion: builtin
kind: NamespaceTransformer
metadata:
  name: kestra-tls-namespace
  namespace: {{ .Values.namespace }}
unsetOnly: true
