package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KillOrphansFrom kills the processes running a program from dir whose parent is gone (they were adopted
// by PID 1): what a test binary started and could not stop, because `go test` killed it on a timeout,
// where no cleanup runs. Left running, they hold the ports and addresses the next run needs (Traefik on
// 127.0.0.2:80 once failed every traffic test of a later run). Processes whose parent lives, a running test
// binary's or anyone's, are left alone. It reads /proc, so it does nothing where there is none.
func KillOrphansFrom(dir string) (killed []string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", entry.Name(), "exe"))
		if err != nil {
			continue // gone, or not ours to read
		}
		exe = strings.TrimSuffix(exe, " (deleted)") // a program rebuilt since it started
		if filepath.Dir(exe) != filepath.Clean(dir) || parentOf(pid) != 1 {
			continue
		}
		if process, err := os.FindProcess(pid); err == nil && process.Kill() == nil {
			killed = append(killed, fmt.Sprintf("%s (pid %d)", filepath.Base(exe), pid))
		}
	}
	return killed
}

// parentOf is a process's parent, 0 when it cannot be read.
func parentOf(pid int) int {
	fields := statFields(pid)
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// statFields are the fields of /proc/PID/stat after the command's name ("pid (comm) state ppid ...";
// comm may hold spaces and parentheses, so they are counted after its last one): state first, then ppid.
func statFields(pid int) []string {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	end := strings.LastIndexByte(string(stat), ')')
	if end < 0 {
		return nil
	}
	return strings.Fields(string(stat[end+1:]))
}

// KillOrphans is KillOrphansFrom(bin/), saying on stderr what it killed.
func KillOrphans() {
	for _, process := range KillOrphansFrom(BinDir()) {
		fmt.Fprintf(os.Stderr, "killed %s: left running by an earlier test run that was stopped before its cleanup\n", process)
	}
}
