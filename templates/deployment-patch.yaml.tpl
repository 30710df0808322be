apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Kestra.Deployment }}
spec:
  template:
    spec:
      containers:
        - name: {{ .Kestra.Container }}
          env:
            {{- if eq .Values.mode "app" }}
            - name: {{ .Values.app.passwordEnv }}
              valueFrom:
                secretKeyRef:
                  name: {{ .Values.app.passwordSecretName }}
                  key: password
            {{- end }}
            - name: KESTRA_CONFIGURATION
              value: |
                {{- .Configuration | trimSuffix "\n" | nindent 16 }}
            {{- if .JavaOpts }}
            - name: JAVA_OPTS
              value: {{ .JavaOpts | quote }}
            {{- end }}
          {{- if eq .Values.mode "app" }}
          ports:
            - name: https
              containerPort: {{ .Values.app.port }}
          volumeMounts:
            - name: kestra-ssl
              mountPath: {{ .Values.app.mountPath }}
              readOnly: true
          {{- end }}
      {{- if eq .Values.mode "app" }}
      volumes:
        - name: kestra-ssl
          secret:
            secretName: {{ .Values.app.sslSecretName }}
            defaultMode: 0400
      {{- end }}
