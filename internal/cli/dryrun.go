package cli

import (
	"fmt"
	"slices"
	"strings"
)

// dryRunValue is kubectl's --dry-run=none|client|server for a command whose dry run is one thing: the
// words in does mean it (a bare --dry-run too), none does not, another word is refused with why.
type dryRunValue struct {
	target  *bool
	does    []string
	refusal string
}

func (d *dryRunValue) Set(value string) error {
	switch {
	case value == "none" || value == "false":
		*d.target = false
	case value == "true" || slices.Contains(d.does, value):
		*d.target = true
	case value == "client" || value == "server":
		return fmt.Errorf("%s", d.refusal)
	default:
		return fmt.Errorf("use none, or %s", strings.Join(d.does, " or "))
	}
	return nil
}

func (d *dryRunValue) String() string {
	if d.target != nil && *d.target {
		return d.does[0]
	}
	return "none"
}

func (d *dryRunValue) Type() string { return "string" }
