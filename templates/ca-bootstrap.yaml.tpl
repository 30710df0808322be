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
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ $c.Root }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  isCA: true
  commonName: {{ $c.CommonName | quote }}
  secretName: {{ $c.Root }}
  secretTemplate:
    labels:
      app.kubernetes.io/managed-by: kubectl-kestra-tls
      kestra-tls.io/role: ca-root
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
  name: {{ $c.Root }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  ca:
    secretName: {{ $c.Root }}
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
    name: {{ $c.Root }}
