{{- /* The Compose override of target compose: docker compose merges it over the user's files. Environment
values replace theirs key by key, so each value here carries the user's own content plus ours. Compose
interpolates ${...} in this file: our placeholders are escaped ($$), the user's own are kept as written. */ -}}
# Written by `kubectl kestra-tls generate --target compose`; re-run it instead of editing. Use it after your own
# files: docker compose{{ .ComposeFlags }} -f {{ .Override }} up -d
services:
  {{ .Service }}:
    {{- if or .Ports .ReplacePorts }}
    ports:{{ if .ReplacePorts }} !override{{ end }}{{ if not .Ports }} []{{ end }}
      {{- range .Ports }}
      - {{ if kindIs "string" . }}{{ . | quote }}{{ else }}{{ toJson . }}{{ end }}
      {{- end }}
    {{- end }}
    volumes:
      {{- range .Mounts }}
      - type: bind
        source: {{ .Source | quote }}
        target: {{ .Target }}
        read_only: true
      {{- end }}
    # The store password, for Micronaut's ${{ "{" }}{{ .Values.app.passwordEnv }}{{ "}" }}: in a file readable by you alone, not in YAML.
    env_file:
      - {{ .EnvFile | quote }}
    environment:
      {{- range $name, $value := .Environment }}
      {{ $name }}: {{ if contains "\n" $value }}|{{ $value | trimSuffix "\n" | nindent 8 }}{{ else }}{{ $value | quote }}{{ end }}
      {{- end }}
