package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A program from the folder whose parent has exited (adopted by PID 1) is killed; one whose parent lives
// (this test) is not.
func TestKillOrphansFromKillsOnlyTheAdopted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	dir := t.TempDir()
	sleep := filepath.Join(dir, "sleep")
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sleep, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ours := exec.Command(sleep, "60")
	if err := ours.Start(); err != nil {
		t.Fatal(err)
	}
	defer Stop(ours, time.Second)
	// The shell starts it in the background and exits: its parent is gone.
	out, err := exec.Command("sh", "-c", sleep+" 61 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("the shell printed %q", out)
	}
	for deadline := time.Now().Add(5 * time.Second); parentOf(orphan) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			if process, err := os.FindProcess(orphan); err == nil {
				process.Kill()
			}
			t.Skipf("the orphan's parent is %d, not 1: a subreaper adopts orphans here, and KillOrphansFrom leaves them", parentOf(orphan))
		}
	}
	killed := KillOrphansFrom(dir)
	if want := []string{"sleep (pid " + strconv.Itoa(orphan) + ")"}; strings.Join(killed, ",") != strings.Join(want, ",") {
		t.Fatalf("killed %q, want %q", killed, want)
	}
	for deadline := time.Now().Add(5 * time.Second); running(orphan); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the orphan %d still runs", orphan)
		}
	}
	if !running(ours.Process.Pid) {
		t.Error("the process this test started, whose parent lives, was killed too")
	}
}

// running is true while the process exists and is not a zombie waiting for its parent.
func running(pid int) bool {
	fields := statFields(pid)
	return len(fields) > 0 && fields[0] != "Z"
}
