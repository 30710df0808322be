package apply

import (
	"sync"

	"k8s.io/cli-runtime/pkg/resource"
)

// requestsInFlight bounds the requests sent at once: client-go's default rate limit (QPS 5, burst 10 when
// the kubeconfig sets none; kubectl's ConfigFlags raise it) queues the rest anyway.
const requestsInFlight = 8

// inRankOrder calls do for every object, those of one rank at once (bounded) and the ranks one after the
// other, so that what an object needs (its namespace, its issuer's Secret, its CRD) is there first. It
// returns the error of the first object, in the overlay's order, that failed; the ranks after it are not
// started.
func inRankOrder(infos []*resource.Info, do func(i int) error) error {
	errs := make([]error, len(infos))
	for start := 0; start < len(infos); {
		end := start
		for end < len(infos) && rank(infos[end]) == rank(infos[start]) {
			end++
		}
		var wg sync.WaitGroup
		slots := make(chan struct{}, requestsInFlight)
		for i := start; i < end; i++ {
			wg.Add(1)
			slots <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				errs[i] = do(i)
			}()
		}
		wg.Wait()
		for i := start; i < end; i++ {
			if errs[i] != nil {
				return errs[i]
			}
		}
		start = end
	}
	return nil
}
