package overlays

import (
	"fmt"
	"regexp"
	"strings"
)

// The ways kustomize says that two objects have one identity: the overlay adds an object the base already
// has. Each gives the kind and the name.
var duplicateID = []*regexp.Regexp{
	// id resid.ResId{Gvk:resid.Gvk{Group:"", Version:"v1", Kind:"Secret", ...}, Name:"kestra-tls", ...} exists; behavior must be merge or replace
	regexp.MustCompile(`Kind:"(\w+)"[^}]*}, Name:"([^"]+)"`),
	// may not add resource with an already registered id: Ingress.v1.networking.k8s.io/kestra.kestra
	regexp.MustCompile(`already registered id: (\w+)\.[^/\s]*/([^.\s]+)`),
	// namespace transformation produces ID conflict: [{"apiVersion":...,"kind":"Ingress","metadata":{...,"name":"kestra",...
	regexp.MustCompile(`"kind":"(\w+)","metadata":\{(?:[^{}]|\{[^{}]*\})*?"name":"([^"]+)"`),
}

// ExplainBuildError turns kustomize's refusal of a generated overlay into a sentence that names the objects
// and what to do; the kustomize message follows for the record.
func ExplainBuildError(base string, err error) error {
	if base == "" {
		base = "the embedded base"
	} else {
		base = "--base " + base
	}
	text := err.Error()
	for _, pattern := range duplicateID {
		if match := pattern.FindStringSubmatch(text); match != nil {
			return fmt.Errorf("the overlay does not build: %s already has %s %s, which the overlay makes too. Remove it from the base (kestra-tls writes it), or give kestra-tls another name for it (--set, see values.yaml); nothing was written.\nkustomize: %s", base, match[1], match[2], firstLine(text))
		}
	}
	return fmt.Errorf("the overlay does not build over %s (nothing was written): %s", base, text)
}

func firstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	if len(line) > 400 {
		line = line[:400] + "..."
	}
	return line
}
