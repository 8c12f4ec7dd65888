package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// perfCounts are what `perf stat` counted in a process over a run: part 2's
// -perf-stat, which tells how many system calls and context switches a
// kick costs the muc-kick process (the work its CPU time pays for).
type perfCounts struct {
	syscalls, switches int64
}

// perfEvents are the counters read; raw_syscalls needs tracefs (root).
const perfEvents = "raw_syscalls:sys_enter,context-switches"

// startPerfStat starts `perf stat` on process pid and returns the function
// that stops it and returns its counts.
func startPerfStat(pid int) (func() (perfCounts, error), error) {
	var out bytes.Buffer
	cmd := exec.Command("perf", "stat", "-x,", "-e", perfEvents, "-p", strconv.Itoa(pid))
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-perf-stat: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // perf attaches to every thread
	return func() (perfCounts, error) {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		return parsePerfStat(out.String())
	}, nil
}

// parsePerfStat reads perf stat's CSV output (-x,): count,unit,event,....
func parsePerfStat(text string) (perfCounts, error) {
	var c perfCounts
	seen := 0
	for line := range strings.Lines(text) {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch f[2] {
		case "raw_syscalls:sys_enter":
			c.syscalls, seen = n, seen+1
		case "context-switches":
			c.switches, seen = n, seen+1
		}
	}
	if seen != 2 {
		return c, fmt.Errorf("-perf-stat: perf printed %q", strings.TrimSpace(text))
	}
	return c, nil
}
