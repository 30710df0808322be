// Package templates holds the manifests `generate` renders, the default values, and the default Kestra
// base used when the user gives none.
package templates

import "embed"

// FS holds values.yaml, the *.yaml.tpl manifest templates and base/.
//
//go:embed values.yaml *.tpl base
var FS embed.FS
