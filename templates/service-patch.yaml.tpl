apiVersion: v1
kind: Service
metadata:
  name: {{ .Kestra.Service }}
spec:
  ports:
    - name: https
      port: {{ .Values.app.port }}
      targetPort: https
