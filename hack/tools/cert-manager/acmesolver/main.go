// Command acmesolver answers one HTTP-01 challenge, as the solver pod cert-manager creates for it does: the
// same flags, served by cert-manager's own solver (pkg/issuer/acme/http/solver). cert-manager's acmesolver
// command lives in a module the Go proxy does not serve; this is the same few lines around that package.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	"k8s.io/klog/v2"
)

func main() {
	s := &solver.HTTP01Solver{}
	flag.IntVar(&s.ListenPort, "listen-port", 8089, "the port to listen on for the challenge")
	flag.StringVar(&s.Domain, "domain", "", "the domain name to answer for")
	flag.StringVar(&s.Token, "token", "", "the challenge token")
	flag.StringVar(&s.Key, "key", "", "the challenge key")
	flag.Parse()
	if err := s.Listen(klog.NewKlogr()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
