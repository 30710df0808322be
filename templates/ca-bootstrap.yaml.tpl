{{- /* --gitops: our CA, made by cert-manager inside the cluster, so that no key is in the overlay. A
selfSigned issuer signs the root (its key stays in its Secret, in the cluster); the root signs the issuer
Kestra's certificates come from, which X.509 name constraints (critical) limit to Kestra's names, as the
issuer generate makes outside the cluster: constraints on the root would be ignored by JSSE, which does not
enforce them on a trust anchor. `kubectl kestra-tls ca` prints the root for clients to trust. */ -}}
{{- $c := .CABootstrap -}}
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: {{ $c.SelfSigned }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  selfSigned: {}
{{- range $c.Roots }}
---
{{- if gt (len $c.Roots) 1 }}
# rotate-ca: generation {{ .Generation }} of our root CA{{ if eq .Name $c.SigningRoot }}, which signs the issuer{{ end }}.
{{- end }}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ .Name }}
  {{- with $.Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  isCA: true
  commonName: {{ if gt .Generation 1 }}{{ printf "%s %d" $c.CommonName .Generation | quote }}{{ else }}{{ $c.CommonName | quote }}{{ end }}
  secretName: {{ .Name }}
  secretTemplate:
    labels:
      app.kubernetes.io/managed-by: kubectl-kestra-tls
      kestra-tls.io/role: ca-root
      kestra-tls.io/ca-generation: {{ .Generation | quote }}
  # Ten years, as generate's CA; the key stays the same on renewal, so clients keep trusting it.
  duration: 87600h
  privateKey:
    algorithm: {{ $c.KeyAlgorithm }}
    size: {{ $c.KeySize }}
    rotationPolicy: Never
  issuerRef:
    group: cert-manager.io
    kind: Issuer
    name: {{ $c.SelfSigned }}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: {{ .Name }}
  {{- with $.Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  ca:
    secretName: {{ .Name }}
{{- end }}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ $c.Issuer }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  isCA: true
  commonName: {{ printf "%s issuer" $c.CommonName | quote }}
  secretName: {{ $c.Issuer }}
  secretTemplate:
    labels:
      app.kubernetes.io/managed-by: kubectl-kestra-tls
  duration: 87600h
  privateKey:
    algorithm: {{ $c.KeyAlgorithm }}
    size: {{ $c.KeySize }}
    rotationPolicy: Never
  nameConstraints:
    critical: true
    permitted:
      {{- with $c.DNSDomains }}
      dnsDomains:
        {{- range . }}
        - {{ . | quote }}
        {{- end }}
      {{- end }}
      {{- with $c.IPRanges }}
      ipRanges:
        {{- range . }}
        - {{ . | quote }}
        {{- end }}
      {{- end }}
  issuerRef:
    group: cert-manager.io
    kind: Issuer
    name: {{ $c.SigningRoot }}
