{{- /* What we add to Kestra's configuration: deep-merged into the base's KESTRA_CONFIGURATION, or read by
Micronaut as the last of MICRONAUT_CONFIG_FILES (the official chart's way). */ -}}
kestra:
  url: {{ .URL }}
  {{- if or .Values.app.hsts .ForwardedHosts }}
  webserver:
    {{- with .Values.app.hsts }}
    # Kestra 2.0 and later send it on the HTTPS requests they serve; older Kestra ignores the setting.
    security-headers:
      strict-transport-security: {{ printf "max-age=%s" . | quote }}
    {{- end }}
    {{- if .ForwardedHosts }}
    # Every browser reaches Kestra over HTTPS at the Ingress or Gateway: the cookies Kestra 2.0 issues (its
    # session, CSRF) carry Secure even when a proxy sends no X-Forwarded-Proto. Older Kestra ignores it.
    cookies:
      secure: true
    {{- end }}
  {{- end }}
{{- if or .Values.csrf .ServesHTTPS .ForwardedHosts }}
micronaut:
  {{- if .ForwardedHosts }}
  server:
    # Behind the Ingress or Gateway that ends TLS, the URLs Kestra builds from a request (SSO redirect URIs)
    # take their scheme from X-Forwarded-Proto and their host from Host, which the proxy keeps; only the
    # --host names are believed, so a request with a forged Host gets http://localhost, not its own URL.
    host-resolution:
      protocol-header: X-Forwarded-Proto
      host-header: Host
      port-in-host: true
      allowed-hosts:
        {{- range .ForwardedHosts }}
        - {{ . | quote }}
        {{- end }}
  {{- end }}
  {{- if .Values.csrf }}
  security:
    csrf:
      enabled: true
  {{- end }}
  {{- if and .ServesHTTPS .Reloads }}
  # Micronaut 4.10's file certificate providers: each store is read again every refresh-interval, and a
  # renewed certificate is served from the next handshake on, without a restart. SCHEDULER, not the file
  # watcher: the kubelet updates a Secret volume by swapping its ..data link, which a watcher of the file
  # itself never sees.
  certificate:
    file:
      {{ .Provider }}:
        path: {{ .Values.app.mountPath }}/keystore.p12
        format: PKCS12
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
        refresh-mode: SCHEDULER
        refresh-interval: {{ .Values.app.reloadInterval }}
      {{- if .Truststore }}
      {{ .Provider }}-trust:
        path: {{ .Values.app.mountPath }}/{{ .TruststoreFile }}
        format: JKS
        password: {{ .TruststorePassword }}
        refresh-mode: SCHEDULER
        refresh-interval: {{ .Values.app.reloadInterval }}
      {{- end }}
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
      {{- if .Reloads }}
      key-name: {{ .Provider }}
      # The key inside keystore.p12 is encrypted with the store password too.
      key:
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
      {{- if .Truststore }}
      trust-name: {{ .Provider }}-trust
      {{- end }}
      {{- else }}
      keyStore:
        path: file:{{ .Values.app.mountPath }}/keystore.p12
        # Micronaut resolves the placeholder from the container's environment: the password stays in its Secret.
        password: ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}
        type: PKCS12
      {{- if .Truststore }}
      trustStore:
        path: file:{{ .Values.app.mountPath }}/{{ .TruststoreFile }}
        password: {{ .TruststorePassword }}
        type: JKS
      {{- end }}
      {{- end }}
  {{- end }}
{{- end }}
