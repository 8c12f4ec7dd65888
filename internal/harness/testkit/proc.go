package testkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// What /proc tells of processes: Linux only, as the servers the tests run.

// PidAlive reports whether pid names a live (not zombie) process.
func PidAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain spaces or parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

// WaitPidsExit polls until every one of pids is gone or a zombie, for at
// most timeout in all. Processes that are not our children (a detached
// ejabberd) are reaped by init at its own pace, so a zombie counts as
// exited.
func WaitPidsExit(timeout time.Duration, pids ...int) error {
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for PidAlive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d still running after %v", pid, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// PidsMentioning returns the live processes, other than this one, whose
// command line contains s.
func PidsMentioning(s string) []int {
	return livePids(func(dir string) bool {
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		return err == nil && strings.Contains(string(cmdline), s)
	})
}

// PidsNamed returns the live processes whose command name (comm) is comm.
func PidsNamed(comm string) []int {
	return livePids(func(dir string) bool {
		b, err := os.ReadFile(filepath.Join(dir, "comm"))
		return err == nil && strings.TrimSpace(string(b)) == comm
	})
}

// ChildPids returns the live child processes of pid (beam.smp's port
// programs such as erl_child_setup).
func ChildPids(pid int) []int {
	parent := strconv.Itoa(pid)
	return livePids(func(dir string) bool {
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			return false
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return false
		}
		// After ") " come the state and the parent pid.
		fields := strings.Fields(string(b[i+1:]))
		return len(fields) > 1 && fields[1] == parent
	})
}

// livePids returns the live processes, other than this one, for whose
// /proc/PID directory match is true.
func livePids(match func(dir string) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if match(filepath.Join("/proc", e.Name())) && PidAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ListensOn reports whether process pid holds a listening TCP socket on
// 127.0.0.1:port (or on all interfaces).
func ListensOn(pid, port int) bool {
	inodes := make(map[string]bool)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			host, hexPort, ok := strings.Cut(f[1], ":")
			if !ok {
				continue
			}
			lp, err := strconv.ParseUint(hexPort, 16, 16)
			if err != nil || int(lp) != port {
				continue
			}
			if host == "0100007F" || strings.Trim(host, "0") == "" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && inodes[target] {
			return true
		}
	}
	return false
}

// Status is what /proc/PID/status says of a process's memory and threads.
type Status struct {
	RSS     int64 // VmRSS: resident memory, in bytes
	HWM     int64 // VmHWM: the most RSS has been, in bytes
	Threads int   // Threads: how many the process has
}

// ReadStatus reads /proc/PID/status.
func ReadStatus(pid int) (Status, error) {
	var st Status
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return st, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			st.RSS = n << 10
		case "VmHWM":
			st.HWM = n << 10
		case "Threads":
			st.Threads = int(n)
		}
	}
	return st, nil
}

// CPUTime is the user and system time process pid has used, from
// /proc/PID/stat (in clock ticks of 10 ms); 0 if it cannot be read.
func CPUTime(pid int) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
