{{- /* What we add to Kestra's configuration: deep-merged into the base's KESTRA_CONFIGURATION, or read by
Micronaut as the last of MICRONAUT_CONFIG_FILES (the official chart's way). */ -}}
kestra:
  url: {{ .URL }}
{{- if or .Values.csrf .ServesHTTPS }}
micronaut:
  {{- if .Values.csrf }}
  security:
    csrf:
      enabled: true
  {{- end }}
  {{- if .ServesHTTPS }}
  server:
    {{- if .DualProtocol }}
    dual-protocol: true
    {{- end }}
    {{- if .Values.app.redirectHTTP }}
    http-to-https-redirect: true
    {{- end }}
    ssl:
      enabled: true
      port: {{ .Values.app.port }}
      {{- if has .Values.app.clientAuthentication (list "want" "need") }}
      clientAuthentication: {{ .Values.app.clientAuthentication }}
      {{- end }}
      keyStore:
        path: file:{{ .Values.app.mountPath }}/keystore.p12
        # Micronaut resolves the placeholder from the container's environment: the password stays in its Secret.
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
        type: PKCS12
      {{- if .Truststore }}
      trustStore:
        path: file:{{ .Values.app.mountPath }}/truststore.jks
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
        type: JKS
      {{- end }}
  {{- end }}
{{- end }}
