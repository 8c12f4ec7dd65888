package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain makes the test binary a stand-in for muc-kick when
// TESTKIT_HELPER is set: it serves /readyz and /metrics, logs its address
// as muc-kick does, and exits 0 on SIGTERM after a last line without a
// newline.
func TestMain(m *testing.M) {
	switch os.Getenv("TESTKIT_HELPER") {
	case "":
		os.Exit(m.Run())
	case "interrupt":
		interruptHelper()
	case "child":
		childHelper()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP go_goroutines Goroutines.\ngo_goroutines 7\nhttp_requests_total{code=\"200\"} 3\n")
	})
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Println("to stdout")
	fmt.Fprintf(os.Stderr, "time=x level=INFO msg=\"muc-kick started\" version=dev http=%s\n", ln.Addr())
	<-sigs
	fmt.Fprint(os.Stderr, "bye")
	os.Exit(0)
}

func helper() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TESTKIT_HELPER=1")
	return cmd
}

func TestProcess(t *testing.T) {
	var lines []string
	p := Start(t, helper(), Options{Line: func(l string) { lines = append(lines, l) }, Untailed: func(l string) bool { return l == "to stdout" }})
	if !p.WaitURL(t, 10*time.Second) {
		t.Fatalf("exited: %v\n%s", p.State(), p.Logs())
	}
	if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q", p.URL())
	}
	p.WaitReady(t, 10*time.Second)
	m, err := p.Metrics()
	if err != nil || m["go_goroutines"] != 7 || len(m) != 1 {
		t.Errorf("Metrics: %v, %v; want go_goroutines 7 alone", m, err)
	}
	if st, err := p.ProcStatus(); err != nil || st.RSS <= 0 || st.HWM < st.RSS || st.Threads < 1 {
		t.Errorf("ProcStatus: %+v, %v", st, err)
	}
	if p.Exited() || p.State() != nil {
		t.Error("exited while running")
	}
	p.WaitLog(t, "to stdout\n", time.Second)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.WaitLog(t, "bye", 10*time.Second) // a line without a newline, at the end
	if st := p.Wait(t, 10*time.Second); st.ExitCode() != 0 {
		t.Errorf("exit %v", st)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after the end: %v, want os.ErrProcessDone", err)
	}
	prog := &Program{}
	if err := Try(func() { p.WaitLog(prog, "never logged", time.Minute) }); err == nil || !strings.Contains(err.Error(), "exited (exit status 0) without logging") {
		t.Errorf("WaitLog on an exited process: %v", err)
	}
	logs := p.Logs()
	if !strings.Contains(logs, "to stdout\n") || !strings.HasSuffix(logs, "bye\n") {
		t.Errorf("logs:\n%s", logs)
	}
	if tail := p.Tail(); strings.Contains(tail, "to stdout") || !strings.HasSuffix(tail, "bye\n") {
		t.Errorf("tail:\n%s", tail)
	}
	if len(lines) != 3 || lines[2] != "bye" {
		t.Errorf("Line saw %q", lines)
	}
}

func TestProcessExitsAtOnce(t *testing.T) {
	p := Start(t, exec.Command("sh", "-c", "echo no config >&2; exit 1"), Options{})
	if p.WaitURL(t, 10*time.Second) {
		t.Fatal("WaitURL: true for a process that logged no address")
	}
	if st := p.State(); st == nil || st.ExitCode() != 1 {
		t.Errorf("state %v, want exit status 1", st)
	}
	if p.Logs() != "no config\n" {
		t.Errorf("logs %q", p.Logs())
	}
}

func TestWaitLogWithOptionsLog(t *testing.T) {
	var out Buffer
	p := Start(t, exec.Command("sh", "-c", "echo hello; sleep 30"), Options{Log: &out})
	start := time.Now()
	err := Try(func() { p.WaitLog(&Program{}, "hello", time.Minute) })
	if err == nil || !strings.Contains(err.Error(), "Options.Log") || time.Since(start) > time.Second {
		t.Errorf("WaitLog with Options.Log: %v after %s, want a failure at once", err, time.Since(start))
	}
}

func TestProgram(t *testing.T) {
	var errs, logs []string
	p := &Program{Name: "testkit", OnError: func(m string) { errs = append(errs, m) }, OnLog: func(m string) { logs = append(logs, m) }}
	var order []int
	p.Cleanup(func() { order = append(order, 1) })
	p.Cleanup(func() { order = append(order, 2) })
	dir := p.TempDir()
	err := p.Run(func() error {
		p.Logf("log %d", 1)
		p.Errorf("error %d", 2)
		p.Fatalf("fatal %d", 3)
		return errors.New("not reached")
	})
	if err == nil || err.Error() != "fatal 3" {
		t.Errorf("Run: %v, want fatal 3", err)
	}
	if fmt.Sprint(logs, errs) != "[log 1] [error 2]" {
		t.Errorf("logs %q, errors %q", logs, errs)
	}
	if fmt.Sprint(order) != "[2 1]" {
		t.Errorf("cleanups ran in the order %v, want [2 1]", order)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("TempDir %s after Close: %v", dir, err)
	}
	p.Close() // once only
	if len(order) != 2 {
		t.Errorf("cleanups ran again: %v", order)
	}
	p.Cleanup(func() { order = append(order, 3) }) // after Close: at once
	if fmt.Sprint(order) != "[2 1 3]" {
		t.Errorf("a cleanup registered after Close: order %v, want [2 1 3]", order)
	}
	if err := p.Run(func() error { return errors.New("plain") }); err == nil || err.Error() != "plain" {
		t.Errorf("Run: %v, want plain", err)
	}

	// Another panic goes on, but the cleanups run first.
	p = &Program{}
	closed := false
	p.Cleanup(func() { closed = true })
	func() {
		defer func() {
			if v := recover(); v != "bug" {
				t.Errorf("recovered %v from Run, want the panic to go on", v)
			}
		}()
		_ = p.Run(func() error { panic("bug") })
	}()
	if !closed {
		t.Error("Run did not run the cleanups on a panic")
	}
	defer func() {
		if v := recover(); v != "other" {
			t.Errorf("recovered %v, want the other panic to go on", v)
		}
	}()
	_ = Try(func() { panic("other") })
}

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		ports, err := FreePorts(5)
		if err != nil {
			t.Fatal(err)
		}
		for _, port := range ports {
			if port < 20000 || port > 32767 || seen[port] {
				t.Fatalf("port %d: out of range or handed out twice", port)
			}
			seen[port] = true
		}
	}
}

func TestProc(t *testing.T) {
	if !PidAlive(os.Getpid()) || PidAlive(1<<30) {
		t.Error("PidAlive")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !ListensOn(os.Getpid(), ln.Addr().(*net.TCPAddr).Port) {
		t.Error("ListensOn: false for our own listener")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	if kids := ChildPids(os.Getpid()); !strings.Contains(fmt.Sprint(kids), fmt.Sprint(pid)) {
		t.Errorf("ChildPids %v, want %d among them", kids, pid)
	}
	if named := PidsNamed("sleep"); !strings.Contains(fmt.Sprint(named), fmt.Sprint(pid)) {
		t.Errorf("PidsNamed(sleep) %v, want %d among them", named, pid)
	}
	if err := WaitPidsExit(100*time.Millisecond, pid); err == nil {
		t.Error("WaitPidsExit: nil for a running process")
	}
	_ = cmd.Process.Kill()
	if err := WaitPidsExit(5*time.Second, pid); err != nil {
		t.Error(err)
	}
	if CPUTime(os.Getpid()) < 0 {
		t.Error("CPUTime < 0")
	}
}

// interruptHelper is the program of TestCloseOnInterrupt: two Programs
// that a signal must close, newest first, each cleanup writing its name to
// the file TESTKIT_MARK names, and a third Program closed before the signal.
func interruptHelper() {
	mark := func(name string) func() {
		return func() {
			f, err := os.OpenFile(os.Getenv("TESTKIT_MARK"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
			if err == nil {
				fmt.Fprintln(f, name)
				f.Close()
			}
		}
	}
	for _, name := range []string{"first", "second", "closed"} {
		p := &Program{Name: name}
		p.Cleanup(mark(name))
		p.CloseOnInterrupt(nil)
		if name == "closed" {
			p.Close()
		}
	}
	switch os.Getenv("TESTKIT_CASE") {
	case "stuck": // a cleanup that hangs, run first
		p := &Program{Name: "stuck"}
		p.Cleanup(func() { mark("stuck")(); time.Sleep(time.Minute) })
		p.CloseOnInterrupt(nil)
	case "command": // a command, such as a go build, that the signal must stop first
		p := &Program{Name: "program"}
		p.Cleanup(mark("program"))
		p.CloseOnInterrupt(nil)
		fmt.Println("ready")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "TESTKIT_HELPER=child")
		CombinedOutput(cmd)
		time.Sleep(time.Minute)
	case "closing": // a Close in progress when the signal arrives
		p := &Program{Name: "closing"}
		p.Cleanup(func() { mark("closing started")(); time.Sleep(300 * time.Millisecond); mark("closing done")() })
		p.CloseOnInterrupt(nil)
		fmt.Println("ready")
		p.Close()
		time.Sleep(time.Minute)
	case "run": // a Run that fails once the signal stopped its server
		slow := &Program{Name: "slow"} // closed after run, slowly
		slow.Cleanup(func() { time.Sleep(300 * time.Millisecond); mark("slow")() })
		slow.CloseOnInterrupt(nil)
		p := &Program{Name: "run"}
		stopped := make(chan struct{})
		p.Cleanup(func() { mark("run")(); close(stopped) })
		p.CloseOnInterrupt(nil)
		fmt.Println("ready")
		err := p.Run(func() error { <-stopped; return errors.New("its server was stopped") })
		fmt.Fprintln(os.Stderr, "run failed:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// childHelper is the command of TestInterruptStopsCommands: it marks that
// it is ready for SIGTERM, and on SIGTERM takes 200 ms to mark that it got
// it and to write a file in its TMPDIR, then exits.
func childHelper() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	mark := func(s string) {
		f, err := os.OpenFile(os.Getenv("TESTKIT_MARK"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err == nil {
			fmt.Fprintln(f, s)
			f.Close()
		}
	}
	mark("child ready")
	select {
	case <-sigs:
		time.Sleep(200 * time.Millisecond)
		os.WriteFile(filepath.Join(os.TempDir(), "left"), nil, 0o600)
		mark("child interrupted")
	case <-time.After(time.Minute):
	}
	os.Exit(0)
}

// TestCloseOnInterrupt: a SIGINT to a program runs the cleanups of the
// Programs it registered and has not closed, newest first, says so on
// stderr, and ends the program with status 130.
func TestCloseOnInterrupt(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	cmd, stderr := startInterruptHelper(t, "TESTKIT_MARK="+mark)
	cmd.Process.Signal(os.Interrupt)
	waitInterrupted(t, cmd)
	b, _ := os.ReadFile(mark)
	if string(b) != "closed\nsecond\nfirst\n" {
		t.Errorf("cleanups ran as %q, want closed at its Close, then second and first at the signal", b)
	}
	for _, want := range []string{"second: interrupt: stopping", "first: interrupt: stopping"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr has no %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "closed:") {
		t.Errorf("a Program closed before the signal was closed again:\n%s", stderr.String())
	}
}

// TestInterruptTwice: a second SIGINT ends the program while a cleanup
// hangs, with status 130.
func TestInterruptTwice(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	cmd, _ := startInterruptHelper(t, "TESTKIT_MARK="+mark, "TESTKIT_CASE=stuck")
	cmd.Process.Signal(os.Interrupt)
	waitMark(t, mark, "closed\nstuck\n", "the hanging cleanup never started")
	cmd.Process.Signal(os.Interrupt)
	time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	waitInterrupted(t, cmd)
	if b, _ := os.ReadFile(mark); string(b) != "closed\nstuck\n" {
		t.Errorf("cleanups ran as %q, want the process gone while stuck hung", b)
	}
}

// TestInterruptedRunDoesNotReturn: a Run that fails because the signal
// stopped its server does not return, so that the program cannot exit with
// a status of its own before the older Programs are closed.
func TestInterruptedRunDoesNotReturn(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	cmd, stderr := startInterruptHelper(t, "TESTKIT_MARK="+mark, "TESTKIT_CASE=run")
	cmd.Process.Signal(os.Interrupt)
	waitInterrupted(t, cmd)
	if b, _ := os.ReadFile(mark); string(b) != "closed\nrun\nslow\nsecond\nfirst\n" {
		t.Errorf("cleanups ran as %q, want closed at its Close, then run, slow, second and first at the signal", b)
	}
	if strings.Contains(stderr.String(), "run failed") {
		t.Errorf("Run returned after the signal:\n%s", stderr.String())
	}
}

// TestInterruptStopsCommands: a SIGINT to the program reaches the command
// CombinedOutput runs, which ends before the Programs' cleanups run, and
// leaves nothing in its temporary directory.
func TestInterruptStopsCommands(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	tmp := t.TempDir()
	cmd, _ := startInterruptHelper(t, "TESTKIT_MARK="+mark, "TESTKIT_CASE=command", "TMPDIR="+tmp)
	waitMark(t, mark, "child ready\n", "the command never started")
	cmd.Process.Signal(os.Interrupt)
	waitInterrupted(t, cmd)
	if b, _ := os.ReadFile(mark); string(b) != "closed\nchild ready\nchild interrupted\nprogram\nsecond\nfirst\n" {
		t.Errorf("marks %q, want the command interrupted and ended before the cleanups", b)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the command left %s in TMPDIR", entries[0].Name())
	}
}

// TestInterruptWaitsForAClose: a signal while a Program's Close runs its
// cleanups waits for them before the process exits.
func TestInterruptWaitsForAClose(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	cmd, _ := startInterruptHelper(t, "TESTKIT_MARK="+mark, "TESTKIT_CASE=closing")
	waitMark(t, mark, "closing started\n", "the Close never started")
	cmd.Process.Signal(os.Interrupt)
	waitInterrupted(t, cmd)
	if b, _ := os.ReadFile(mark); string(b) != "closed\nclosing started\nclosing done\nsecond\nfirst\n" {
		t.Errorf("marks %q, want the Close in progress finished before the exit", b)
	}
}

// waitMark waits until the file mark ends with suffix, or fails the test
// with what it waited for.
func waitMark(t *testing.T, mark, suffix, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(mark); strings.HasSuffix(string(b), suffix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// startInterruptHelper starts interruptHelper with env added, and waits
// until its Programs are registered.
func startInterruptHelper(t *testing.T, env ...string) (*exec.Cmd, *Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "TESTKIT_HELPER=interrupt"), env...)
	stderr := &Buffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the helper said %q, %v", line, err)
	}
	return cmd, stderr
}

// waitInterrupted fails the test unless cmd exits with ExitInterrupted.
func waitInterrupted(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != ExitInterrupted {
		t.Errorf("the helper ended with %v, want exit status %d", err, ExitInterrupted)
	}
}
