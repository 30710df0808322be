{{- /* What we add to Kestra's configuration (KESTRA_CONFIGURATION); it is deep-merged over the base's. */ -}}
kestra:
  url: {{ .URL }}
{{- if or .Values.csrf (eq .Values.mode "app") }}
micronaut:
  {{- if .Values.csrf }}
  security:
    csrf:
      enabled: true
  {{- end }}
  {{- if eq .Values.mode "app" }}
  server:
    {{- if .Values.app.dualProtocol }}
    dual-protocol: true
    {{- end }}
    ssl:
      enabled: true
      port: {{ .Values.app.port }}
      clientAuthentication: {{ .Values.app.clientAuthentication }}
      keyStore:
        path: file:{{ .Values.app.mountPath }}/keystore.p12
        # Micronaut resolves the placeholder from the container's environment: the password stays in its Secret.
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
        type: PKCS12
      trustStore:
        path: file:{{ .Values.app.mountPath }}/truststore.jks
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
        type: JKS
  {{- end }}
{{- end }}
