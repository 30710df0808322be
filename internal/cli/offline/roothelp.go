package offline

import (
	_ "embed"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

//go:generate go run roothelp_gen.go

// rootHelp is what the engine prints for `kubectl kestra-tls --help`, written by roothelp_gen.go from the
// engine's own root command (a test keeps the two equal), so that the first command a user types does not
// start the engine. The engine's one line that depends on the user is --cache-dir's default; it is held
// as CacheDirPlaceholder.
//
//go:embed roothelp.txt
var rootHelp string

// CacheDirPlaceholder stands in the generated help for --cache-dir's default (roothelp_gen.go sets
// KUBECACHEDIR to it, quoted as the flag prints it).
const CacheDirPlaceholder = "@KUBECACHEDIR@"

// RootHelp is the engine's root help with the user's --cache-dir default, as cli-runtime computes it:
// KUBECACHEDIR, else $HOME/.kube/cache.
func RootHelp() string {
	dir := os.Getenv("KUBECACHEDIR")
	if dir == "" {
		dir = filepath.Join(os.Getenv("HOME"), ".kube", "cache")
	}
	return strings.Replace(rootHelp, strconv.Quote(CacheDirPlaceholder), strconv.Quote(dir), 1)
}

// asksForRootHelp is the plugin run bare, or with only --help, -h or help. On Windows, where the home
// folder cli-runtime uses is found in more ways than $HOME, the engine answers.
func asksForRootHelp(args []string) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	return len(args) == 0 || (len(args) == 1 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help"))
}
