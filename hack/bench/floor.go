package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// machineFloor times what every command of ours pays before doing anything, on this machine: starting a
// process, starting Go's runtime, and touching memory the process has not touched yet (each new page
// faults, and where the virtual machine backs its memory lazily, the host faults too). The start-up goals
// are read against these.
func machineFloor(work string) error {
	hello := filepath.Join(work, "hello")
	if err := os.MkdirAll(hello, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hello, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hello, "main.go"), []byte(helloWorld), 0o644); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "hello", ".")
	build.Dir, build.Env = hello, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building a Go hello-world: %v\n%s", err, out)
	}
	binary := filepath.Join(hello, "hello")
	say("The machine's floor:\n\n| what | median | min - max |\n|---|---|---|\n")
	for _, c := range []struct{ label, path string }{
		{"`/bin/true` (a process)", "/bin/true"},
		{"a Go hello-world (a process and Go's runtime)", binary},
	} {
		var d durations
		for i := 0; i < *runs*3; i++ {
			t, err := timeProcess(nil, c.path)
			if err != nil {
				return err
			}
			d = append(d, t)
		}
		say("| %s | %s | %s |\n", c.label, d.median(), d.span())
	}
	var perPage []float64
	for i := 0; i < *runs; i++ {
		out, err := exec.Command(binary, "touch").Output()
		if err != nil {
			return fmt.Errorf("hello touch: %v", err)
		}
		var microseconds float64
		if _, err := fmt.Sscan(string(out), &microseconds); err != nil {
			return fmt.Errorf("hello touch printed %q", out)
		}
		perPage = append(perPage, microseconds)
	}
	sort.Float64s(perPage)
	say("| first touch of a page of new memory (32 MB in a new process, per 4 KiB page) | %.1fµs | %.1fµs - %.1fµs |\n\n", perPage[len(perPage)/2], perPage[0], perPage[len(perPage)-1])
	return nil
}

// helloWorld prints hello; with an argument, it writes one byte into each 4 KiB page of 32 MB it has just
// allocated (new pages from the OS: Go does not clear memory it knows to be new) and prints the
// microseconds per page.
const helloWorld = `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) == 1 {
		fmt.Println("hello")
		return
	}
	const size = 32 << 20
	memory := make([]byte, size)
	started := time.Now()
	for i := 0; i < size; i += 4096 {
		memory[i] = 1
	}
	fmt.Printf("%.2f\n", float64(time.Since(started).Nanoseconds())/1e3/(size/4096))
}
`
