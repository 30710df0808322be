{{- $class := .Values.ingress.className -}}
{{- /* .IssuerAnnotations: the issuer's cert-manager.io annotation, decided once for Ingress and Gateway. */ -}}
{{- $annotations := dict -}}
{{- range $key, $value := .IssuerAnnotations }}
{{- $_ := set $annotations $key $value }}
{{- end }}
{{- /* .IngressControllerAnnotations: what Kestra needs from the class's controller (model.IngressControllerSettings). */ -}}
{{- range $key, $value := .IngressControllerAnnotations }}
{{- $_ := set $annotations $key $value }}
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
  {{- if $class }}
  ingressClassName: {{ $class }}
  {{- else }}
  # No class: the cluster's default IngressClass serves it; apply names it and adds its controller's settings.
  {{- end }}
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
