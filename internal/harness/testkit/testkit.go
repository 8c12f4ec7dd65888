// Package testkit is the plumbing that muc-kick's tests and tools (the
// soak, the benchmark, the demo) share:
//
//   - Build and Process: build a package of this module, run it (or another
//     program, such as HAProxy) as a subprocess, read its output line by
//     line, its HTTP address from muc-kick's "muc-kick started" log line,
//     wait for /readyz, signal it, wait for its end, read its memory;
//   - Program: a TB for a program, whose Fatal ends the function that Run
//     or Try runs, and whose cleanups CloseOnInterrupt runs on Ctrl-C;
//   - FreePorts: ports free on loopback, below the ephemeral range;
//   - what /proc tells of processes: PidAlive, WaitPidsExit, PidsMentioning,
//     PidsNamed, ChildPids, ListensOn, ReadStatus, CPUTime.
//
// It knows muc-kick only by its module path and that log line, and imports
// nothing of this module, so that internal/harness/xmpptest can build on it.
package testkit

import (
	"bytes"
	"sync"
)

// TB is the part of testing.TB the harness uses, so that a program (the
// demo, the soak, the benchmark) can use it too: *testing.T, *testing.B and
// *Program satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skip(args ...any)
	TempDir() string
}

// Buffer is a bytes.Buffer that is safe for concurrent use: a log that a
// process or an in-process daemon writes while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
