{{- /* One Kestra workload (Deployment or StatefulSet) of the base, as .Workload: the server gets our
configuration, the HTTPS port and the stores; every component gets the outbound trust. Lists merge by key
(env by name, volumes by name), so the base's own entries stay. */ -}}
{{- $w := .Workload -}}
apiVersion: apps/v1
kind: {{ $w.Kind }}
metadata:
  name: {{ $w.Name }}
  {{- if and $w.MountsStores (eq $.Values.app.restartOnRenewal "reloader") (not $.Renewal.Reloads) }}
  annotations:
    # Stakater Reloader restarts this workload when cert-manager renews the stores in place.
    secret.reloader.stakater.com/reload: {{ $.Values.app.sslSecretName }}
  {{- end }}
spec:
  template:
    {{- if and $w.MountsStores $.SealedDigest (not $.Renewal.Reloads) }}
    metadata:
      annotations:
        # The stores come sealed, under a fixed name: a new sealing rolls the pods, as a new hash suffix would.
        kestra-tls.io/sealed-stores: {{ $.SealedDigest | quote }}
    {{- end }}
    spec:
      containers:
        - name: {{ $w.Container }}
          {{- if $w.Env }}
          env:
            {{- range $w.Env }}
            - name: {{ .Name }}
              {{- if .SecretName }}
              valueFrom:
                secretKeyRef:
                  name: {{ .SecretName }}
                  key: {{ .SecretKey }}
              {{- else if .Block }}
              value: |
                {{- .Value | trimSuffix "\n" | nindent 16 }}
              {{- else }}
              value: {{ .Value | quote }}
              {{- end }}
            {{- end }}
          {{- end }}
          {{- if $w.HTTPS }}
          ports:
            - name: https
              containerPort: {{ $.Values.app.port }}
          {{- end }}
          {{- if or $w.Mounts $w.DropMounts }}
          volumeMounts:
            {{- range $w.Mounts }}
            - name: {{ .Name }}
              mountPath: {{ .MountPath }}
              {{- with .SubPath }}
              subPath: {{ . }}
              {{- end }}
              readOnly: true
            {{- end }}
            {{- range $w.DropMounts }}
            # The base's own SSL mount, replaced by the overlay's setup.
            - mountPath: {{ . }}
              $patch: delete
            {{- end }}
          {{- end }}
        {{- range $w.Daemons }}
        # The Docker daemon checks each --registry's certificate against the outbound trust.
        - name: {{ .Container }}
          volumeMounts:
            - name: {{ $.RegistriesVolume }}
              mountPath: {{ .MountPath }}
              readOnly: true
        {{- end }}
      {{- if or $w.Mounts $w.DropVolumes $w.Daemons }}
      volumes:
        {{- range $w.DropVolumes }}
        # The base's own SSL volume, replaced by the overlay's stores.
        - name: {{ . }}
          $patch: delete
        {{- end }}
        {{- if and $w.MountsStores (or $.PublicOutbound $.ClientTrust) }}
        # Kestra's stores from the Secret cert-manager writes, beside the public certificates it cannot hold
        # (the outbound trust, the clients' CA), in one folder. Readable by the container's user, whichever it
        # is; the store password guards the key. Only the stores: never tls.key in plain text.
        - name: kestra-ssl
          projected:
            defaultMode: {{ printf "%#o" $w.StoresMode }}
            sources:
              - secret:
                  name: {{ $.Values.app.sslSecretName }}
                  items:
                    {{- range $w.StoreKeys }}
                    - key: {{ . }}
                      path: {{ . }}
                    {{- end }}
              {{- with $.PublicOutbound }}
              - configMap:
                  name: {{ .ConfigMap }}
                  items:
                    {{- range .Keys }}
                    - key: {{ . }}
                      path: {{ . }}
                    {{- end }}
              {{- end }}
              {{- with $.ClientTrust }}
              - configMap:
                  name: {{ .ConfigMap }}
                  items:
                    - key: {{ .Truststore }}
                      path: {{ .Truststore }}
              {{- end }}
        {{- else if $w.MountsStores }}
        - name: kestra-ssl
          secret:
            secretName: {{ $.Values.app.sslSecretName }}
            # Readable by the container's user, whichever it is (Kestra's images run as a non-root user);
            # the store password guards the key. Only the stores: never tls.key in plain text.
            defaultMode: {{ printf "%#o" $w.StoresMode }}
            items:
              {{- range $w.StoreKeys }}
              - key: {{ . }}
                path: {{ . }}
              {{- end }}
        {{- end }}
        {{- if and $w.Daemons $.PublicOutbound }}
        - name: {{ $.RegistriesVolume }}
          configMap:
            name: {{ $.PublicOutbound.ConfigMap }}
            defaultMode: 0444
            items:
              {{- range $w.RegistryItems }}
              - key: {{ .Key }}
                path: {{ .Path }}
              {{- end }}
        {{- else if $w.Daemons }}
        - name: {{ $.RegistriesVolume }}
          secret:
            secretName: {{ $.Values.app.sslSecretName }}
            defaultMode: 0444
            items:
              {{- range $w.RegistryItems }}
              - key: {{ .Key }}
                path: {{ .Path }}
              {{- end }}
        {{- end }}
        {{- if $w.MountsConfig }}
        - name: kestra-tls-config
          configMap:
            name: kestra-tls-config
        {{- end }}
      {{- end }}
