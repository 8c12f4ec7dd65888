package testkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"
)

// ExitInterrupted is the status a program exits with after
// CloseOnInterrupt's signal: 128 + SIGINT, as a shell reports Ctrl-C.
const ExitInterrupted = 130

// interrupted is closed when CloseOnInterrupt's signal arrives: from then
// on the process only closes its Programs and exits.
var interrupted = make(chan struct{})

// haltIfInterrupted blocks for ever once the signal has arrived, so that the
// goroutine that called it (a Run that failed because the signal stopped its
// servers, a program about to start its next part) neither exits with a
// status of its own nor starts anything new: the signal's goroutine ends the
// process.
func haltIfInterrupted() {
	select {
	case <-interrupted:
		select {}
	default:
	}
}

// interruptible holds the Programs that a SIGINT or SIGTERM must close,
// oldest first, each with its onSignal.
var interruptible struct {
	once     sync.Once
	mu       sync.Mutex
	programs []signalled
}

type signalled struct {
	p        *Program
	onSignal func(os.Signal)
}

// CloseOnInterrupt makes a SIGINT or SIGTERM close p, as Close does, and
// then end the process with ExitInterrupted. The servers the harness starts
// run in process groups of their own (a terminal's Ctrl-C does not reach
// them), so without this a program interrupted by its user would leave
// Prosody or ejabberd running, and their directories behind. Every open
// Program it was called for is closed, newest first, each after its
// onSignal (if not nil) was called with the signal; a Program closed before
// the signal is left out. Once the signal has arrived, Run does not return
// and CloseOnInterrupt blocks, so that the program neither exits with a
// status of its own nor starts new servers. A second signal while they close
// ends the process at once, as a user who presses Ctrl-C again expects. A
// SIGINT the process was started ignoring (a background job of a script)
// stays ignored.
func (p *Program) CloseOnInterrupt(onSignal func(os.Signal)) {
	haltIfInterrupted()
	interruptible.mu.Lock()
	interruptible.programs = append(interruptible.programs, signalled{p, onSignal})
	interruptible.mu.Unlock()
	interruptible.once.Do(func() {
		sigs := make(chan os.Signal, 1)
		if signal.Ignored(os.Interrupt) {
			signal.Notify(sigs, syscall.SIGTERM)
		} else {
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		}
		go func() {
			sig := <-sigs
			close(interrupted)
			go func() {
				<-sigs
				os.Exit(ExitInterrupted)
			}()
			waitCommands(10 * time.Second)
			closeInterrupted(sig)
			os.Exit(ExitInterrupted)
		}()
	})
}

// closeInterrupted closes the Programs registered, newest first.
func closeInterrupted(sig os.Signal) {
	interruptible.mu.Lock()
	ps := interruptible.programs
	interruptible.programs = nil
	interruptible.mu.Unlock()
	for _, s := range slices.Backward(ps) {
		if s.onSignal != nil {
			s.onSignal(sig)
		} else {
			fmt.Fprintf(os.Stderr, "%s: %v: stopping the servers and processes it started (Ctrl-C again quits at once)\n", s.p.Name, sig)
		}
		s.p.Close()
	}
}

// forgetInterruptible takes p off the Programs a signal closes.
func forgetInterruptible(p *Program) {
	interruptible.mu.Lock()
	defer interruptible.mu.Unlock()
	interruptible.programs = slices.DeleteFunc(interruptible.programs, func(s signalled) bool { return s.p == p })
}

// commands is read-locked while CombinedOutput runs a command; the
// interrupt's goroutine locks it, so that no Program is closed before the
// commands it interrupted have ended.
var commands sync.RWMutex

// CombinedOutput runs cmd and returns what it wrote on stdout and stderr, as
// cmd.CombinedOutput does, with two differences that let an interrupt stop
// it cleanly. It runs in a process group of its own, to which
// CloseOnInterrupt's signal sends SIGTERM (go build ignores a SIGINT that
// reaches it alone, and a script's background job ignores any); and the
// Programs' cleanups wait for its end, at most 10 s. Its TMPDIR and GOTMPDIR
// are a directory of its own, removed when it ends, so that a go build
// stopped this way leaves no work directory. Without this, a SIGTERM or a
// kill -INT of the program alone would leave a go build running, to write
// its binary into a directory the cleanups had just removed.
func CombinedOutput(cmd *exec.Cmd) ([]byte, error) {
	haltIfInterrupted()
	commands.RLock()
	defer commands.RUnlock()
	tmp, err := os.MkdirTemp("", "muc-kick-cmd-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // before RUnlock: deferred after it
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp, "GOTMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-interrupted:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	return out.Bytes(), err
}

// waitCommands waits until no CombinedOutput runs, at most d.
func waitCommands(d time.Duration) {
	for deadline := time.Now().Add(d); !commands.TryLock() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}
