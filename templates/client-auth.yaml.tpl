{{- /* --client-auth in ingress mode, for Traefik: the TLS options its router for our Ingress uses (the
Ingress names them in traefik.ingress.kubernetes.io/router.tls.options), asking every client for a
certificate of the CA in Secret {{ .ClientAuth.Secret }}. */ -}}
apiVersion: traefik.io/v1alpha1
kind: TLSOption
metadata:
  name: {{ .ClientAuth.TLSOption }}
  namespace: {{ .ClientAuth.Namespace }}
  labels:
    app.kubernetes.io/managed-by: kubectl-kestra-tls
spec:
  clientAuth:
    secretNames:
      - {{ .ClientAuth.Secret }}
    # need: no certificate of that CA, no connection; want: a client may present none (Kestra then asks
    # for its login), but one it presents must verify.
    clientAuthType: {{ .ClientAuth.Type }}
