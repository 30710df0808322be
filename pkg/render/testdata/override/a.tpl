overridden {{ .Name }}
