package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// bigBase is a manifest file with Kestra (chartLikeBase) and n ConfigMaps: kustomize takes minutes over 10,000 objects.
func bigBase(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(chartLikeBase)
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\ndata: {a: b}\n", i)
	}
	path := filepath.Join(t.TempDir(), "kestra.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSignalsStopGenerateAndCerts runs the built plugin and signals it where it used to ignore signals: deep
// in a kustomize build and blocked reading its input. Each stops promptly with the shell's code for the
// signal (130 SIGINT, 143 SIGTERM) and leaves no output folder, not even an empty one or a staged file.
func TestSignalsStopGenerateAndCerts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin (-short)")
	}
	plugin := testutil.Plugin(t)
	fifo := filepath.Join(t.TempDir(), "input")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		signal syscall.Signal
		args   func(out string) []string
		// reached returns once the command is where the signal must find it.
		reached func(t *testing.T)
		stdin   bool
	}{
		{
			name: "generate building a base of 10,000 objects gets SIGTERM", signal: syscall.SIGTERM,
			args: func(out string) []string {
				return []string{"generate", "--mode", "app", "--host", "kestra.example.com", "--base", bigBase(t, 10000), "-o", out}
			},
			reached: func(*testing.T) { time.Sleep(2 * time.Second) },
		},
		{
			name: "generate waiting on --cert from a FIFO gets SIGINT", signal: syscall.SIGINT,
			args: func(out string) []string {
				return []string{"generate", "--mode", "app", "--host", "kestra.example.com", "--cert", fifo, "--key", fifo, "-o", out}
			},
			reached: func(t *testing.T) { waitForFIFOReader(t, fifo) },
		},
		{
			name: "certs waiting on --store-password-file /dev/stdin gets SIGTERM", signal: syscall.SIGTERM, stdin: true,
			args: func(out string) []string {
				return []string{"certs", "--host", "kestra.example.com", "--store-password-file", "/dev/stdin", "-o", out}
			},
			reached: func(*testing.T) { time.Sleep(1500 * time.Millisecond) },
		},
		{
			name: "certs waiting on --cert from a FIFO gets SIGINT", signal: syscall.SIGINT,
			args: func(out string) []string {
				return []string{"certs", "--cert", fifo, "--key", fifo, "-o", out}
			},
			reached: func(t *testing.T) { waitForFIFOReader(t, fifo) },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			cmd := exec.Command(plugin, c.args(out)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if c.stdin {
				writer, err := cmd.StdinPipe() // held open, never written: the read blocks
				if err != nil {
					t.Fatal(err)
				}
				defer writer.Close()
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			c.reached(t)
			select {
			case err := <-done:
				t.Fatalf("ended before the signal: %v\n%s", err, stderr.String())
			default:
			}
			signalled := time.Now()
			cmd.Process.Signal(c.signal)
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 10 s after %s", c.signal)
			}
			// Grace is 0.5 s; the margin is for a loaded CI machine.
			if took := time.Since(signalled); took > 2*time.Second {
				t.Errorf("took %s to stop after %s", took, c.signal)
			}
			var exit *exec.ExitError
			if want := 128 + int(c.signal); !errors.As(err, &exit) || exit.ExitCode() != want {
				t.Errorf("exit = %v, want %d\n%s", err, want, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted by ") {
				t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("left %v in the output's parent folder", entries)
			}
		})
	}
}

// waitForFIFOReader returns once a process has opened fifo for reading (opening it for writing blocks
// until then). Our end stays open and unwritten until the test ends, so the reader waits for data.
func waitForFIFOReader(t *testing.T, fifo string) {
	t.Helper()
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			opened <- f
		}
	}()
	select {
	case f := <-opened:
		t.Cleanup(func() { f.Close() })
	case <-time.After(30 * time.Second):
		t.Fatal("the command never opened the FIFO")
	}
}
