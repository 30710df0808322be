{{- /* App mode with --app-issuer cert-manager: cert-manager issues Kestra's own certificate and writes the
stores Micronaut loads into the Secret the pod mounts. keystore.p12 uses the Modern2023 profile (AES,
PBKDF2): cert-manager's default LegacyRC2 does not load on Java 20+, and Kestra runs on Java 21. Both
stores are encrypted with the password Kestra reads from its own Secret. */ -}}
{{- $c := .AppCertificate -}}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ $c.Name }}
  {{- with .Kestra.Namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    app.kubernetes.io/name: kestra
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  secretName: {{ $c.Name }}
  # How `kubectl kestra-tls status` finds Kestra's stores, and the names they must cover.
  secretTemplate:
    labels:
      app.kubernetes.io/managed-by: kubectl-kestra-tls
      kestra-tls.io/role: stores
    annotations:
      kestra-tls.io/hosts: {{ $c.Hosts | quote }}
      {{- with .Values.app.clientAuthentication }}
      # Kestra asks clients for a certificate: status watches the expiry of the CA that verifies them, the
      # issuer's (the truststore here), or the clients' own (--client-ca) in the ConfigMap named here.
      kestra-tls.io/client-auth: {{ . }}
      {{- with $.ClientTrust }}
      kestra-tls.io/client-ca: {{ .ConfigMap }}
      {{- end }}
      {{- end }}
      {{- if .Renewal.Reloads }}
      # Kestra re-reads the stores cert-manager renews in place: no restart.
      kestra-tls.io/renewal: reload
      kestra-tls.io/reload-interval: {{ .Renewal.Interval | quote }}
      {{- end }}
  commonName: {{ index .Values.hosts 0 | quote }}
  {{- with $c.DNSNames }}
  dnsNames:
    {{- range . }}
    - {{ . | quote }}
    {{- end }}
  {{- end }}
  {{- with $c.IPAddresses }}
  ipAddresses:
    {{- range . }}
    - {{ . | quote }}
    {{- end }}
  {{- end }}
  usages:
    - digital signature
    - key encipherment
    - server auth
  privateKey:
    # certificates.keyAlgorithm, as for the certificates generate makes.
    algorithm: {{ $c.KeyAlgorithm }}
    size: {{ $c.KeySize }}
    rotationPolicy: Always
  issuerRef:
    group: cert-manager.io
    kind: {{ $c.IssuerKind }}
    name: {{ $c.IssuerName }}
  keystores:
    pkcs12:
      create: true
      profile: Modern2023
      passwordSecretRef:
        name: {{ .Values.app.passwordSecretName }}
        key: password
    jks:
      # For truststore.jks, which Kestra's configuration names.
      create: true
      passwordSecretRef:
        name: {{ .Values.app.passwordSecretName }}
        key: password
