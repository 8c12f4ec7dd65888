package testkit

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// Program is a TB for a program that uses the test harness (the soak, the
// benchmark, the demo). Fatal, Fatalf and Skip panic with a value that Try
// and Run recover: they end the function Try or Run runs, even on another
// goroutine, if that goroutine runs under Try too. Errorf and Logf hand the
// message to OnError and OnLog. Cleanup functions run, newest first, when
// Close is called (Run calls it); one registered later runs at once. Its
// methods are safe for concurrent use: occupants connect from many
// goroutines.
type Program struct {
	// Name names TempDir's directories: muc-kick-<Name>-*.
	Name string
	// OnLog receives what Logf formats; nil drops it.
	OnLog func(msg string)
	// OnError receives what Errorf formats; nil prints "error: msg" on
	// stderr.
	OnError func(msg string)

	mu        sync.Mutex
	cleanups  []func()
	closed    bool // Close has begun
	closeOnce sync.Once
}

// fatal is the panic value of Program.Fatal.
type fatal struct{ msg string }

// Helper does nothing: a program's messages carry no file and line to
// skip.
func (p *Program) Helper() {}

// Cleanup registers f to run when Close is called. Once Close has begun, it
// runs f at once: a process or server started after an interrupt closed p
// (see CloseOnInterrupt), on a goroutine that had not stopped yet, is
// stopped rather than left running.
func (p *Program) Cleanup(f func()) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		f()
		return
	}
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

// Errorf formats its arguments as fmt.Sprintf does and hands the message to
// OnError; the function goes on, as a test's Errorf does.
func (p *Program) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.OnError == nil {
		fmt.Fprintln(os.Stderr, "error: "+msg)
		return
	}
	p.OnError(msg)
}

// Fatal formats its arguments as fmt.Sprint does and ends the function that
// Try or Run runs, which returns the message as an error.
func (p *Program) Fatal(args ...any) { panic(fatal{fmt.Sprint(args...)}) }

// Fatalf is Fatal with a format, as fmt.Sprintf's.
func (p *Program) Fatalf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }

// Logf formats its arguments as fmt.Sprintf does and hands the message to
// OnLog.
func (p *Program) Logf(format string, args ...any) {
	if p.OnLog != nil {
		p.OnLog(fmt.Sprintf(format, args...))
	}
}

// Skip ends the function as Fatal does: a program has no test to skip.
func (p *Program) Skip(args ...any) { p.Fatal(args...) }

// TempDir creates a directory that Close removes.
func (p *Program) TempDir() string {
	dir, err := os.MkdirTemp("", "muc-kick-"+p.Name+"-")
	if err != nil {
		p.Fatal(err)
	}
	p.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Close runs the cleanup functions once, newest first; a second caller (the
// end of main and a signal handler at once) waits until they are done.
func (p *Program) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		cs := p.cleanups
		p.cleanups, p.closed = nil, true
		p.mu.Unlock()
		for i := len(cs) - 1; i >= 0; i-- {
			cs[i]()
		}
		// Only now: an interrupt while the cleanups run must wait for them
		// (through closeOnce) before the process exits.
		forgetInterruptible(p)
	})
}

// Run runs f, turning a Fatal inside it into an error, then Close. Close
// runs on any other panic too, which then goes on: a server detached from
// this process (ejabberd, Prosody in a process group of its own) must not
// outlive it. After CloseOnInterrupt's signal, Run does not return.
func (p *Program) Run(f func() error) error {
	defer haltIfInterrupted()
	defer p.Close()
	var ferr error
	err := Try(func() { ferr = f() })
	if err != nil {
		return err
	}
	return ferr
}

// Try runs f and returns the message of a Program's Fatal inside it as an
// error; any other panic goes on.
func Try(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			ft, ok := v.(fatal)
			if !ok {
				panic(v)
			}
			err = errors.New(ft.msg)
		}
	}()
	f()
	return nil
}
