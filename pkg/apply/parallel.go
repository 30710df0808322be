package apply

import (
	"sort"
	"sync"

	"k8s.io/cli-runtime/pkg/resource"
)

// requestsInFlight bounds the requests sent at once: client-go's default rate limit (QPS 5, burst 10 when
// the kubeconfig sets none; kubectl's ConfigFlags raise it) queues the rest anyway.
const requestsInFlight = 8

// Phases of the writes: what an object needs is written in an earlier phase. Namespaces, then CRDs; then
// the Secrets, ConfigMaps and ServiceAccounts with the issuers (an issuer reads its Secret when it is
// there: cert-manager looks again when the Secret comes); then everything else at once: the Ingress, Gateway
// API routes and Certificates, whose issuance needs the issuer to exist (cert-manager retries without it,
// but reports a transient failure and takes longer), beside the Services and workloads, which nothing here
// needs at admission. Issuance, the longest part of apply and wait, starts one phase earlier than when the
// workloads had a phase of their own.
func writePhase(info *resource.Info) int {
	switch r := rank(info); {
	case r <= 1:
		return r
	case r == 2 || r == 3:
		return 2
	}
	return 3
}

// checkPhase groups the dry runs: one persists nothing, so only namespaces and CRDs must exist first; all
// the others go at once.
func checkPhase(info *resource.Info) int {
	if r := rank(info); r <= 1 {
		return r
	}
	return 2
}

// inPhases calls do for every object, those of one phase at once (bounded) and the phases one after the
// other. It returns the error of the first object, in the overlay's order, that failed; the phases after
// it are not started. infos are sorted by rank, so phases may interleave: they are gathered first.
func inPhases(infos []*resource.Info, phase func(*resource.Info) int, do func(i int) error) error {
	byPhase := map[int][]int{}
	var phases []int
	for i, info := range infos {
		p := phase(info)
		if _, seen := byPhase[p]; !seen {
			phases = append(phases, p)
		}
		byPhase[p] = append(byPhase[p], i)
	}
	sort.Ints(phases)
	errs := make([]error, len(infos))
	for _, p := range phases {
		atOnce(byPhase[p], func(i int) { errs[i] = do(i) })
		for _, i := range byPhase[p] {
			if errs[i] != nil {
				return errs[i]
			}
		}
	}
	return nil
}

// atOnce calls do for every index, at most requestsInFlight at a time, and returns when all are done.
func atOnce(indexes []int, do func(i int)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, requestsInFlight)
	for _, i := range indexes {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			do(i)
		}()
	}
	wg.Wait()
}
