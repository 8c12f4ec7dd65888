package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ModuleRoot returns the directory of muc-kick's go.mod, found once, from
// the working directory up.
func ModuleRoot() (string, error) { return moduleRoot() }

var moduleRoot = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/muc-kick/muc-kick\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("testkit: run this inside the muc-kick repository (go.mod not found)")
		}
	}
})

// Build runs `go build flags -o out pkg` in the module's root: pkg is a
// package of this module, "." for muc-kick itself. Its error carries what
// go printed. An interrupt stops it (see CombinedOutput).
func Build(out, pkg string, flags ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if b, err := CombinedOutput(cmd); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// RaceEnabled reports whether this binary was built with the race detector:
// a test built with it builds the binaries it runs with it too, so that a
// race in a subprocess shows (it makes it exit 66).
func RaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// startedLine matches the line muc-kick logs once it serves HTTP, and its
// address.
var startedLine = regexp.MustCompile(`msg="muc-kick started".* http=(\S+)`)

// tailLines is how many lines Tail keeps.
const tailLines = 60

// Options change how Start runs a process.
type Options struct {
	// URL is the process's base URL, "http://host:port", when the caller
	// chose where it listens. Without it, the URL is read from muc-kick's
	// "muc-kick started … http=ADDR" log line (see WaitURL).
	URL string
	// Log receives every line the process writes to stdout or stderr. By
	// default they go to a Buffer that Logs returns.
	Log io.Writer
	// Line, if set, is called with each line as it is read, in order and
	// one call at a time, on goroutines of the Process's own: the one that
	// reads the output, then, for a last line without a newline, the one
	// that waits for the process's end.
	Line func(line string)
	// Untailed, if set, tells the lines that Tail leaves out (the soak's
	// kick lines: too many to be worth showing).
	Untailed func(line string) bool
}

// Process is a program a test or a tool runs as a subprocess: the muc-kick
// binary, HAProxy, the benchmark's holdserver. What it writes to stdout and
// stderr is read line by line (see Options), and its HTTP endpoints are
// read through one keep-alive connection of its own, so that probing it
// does not add connections (and goroutines) to what it is measured with.
type Process struct {
	name   string // for messages: the command's base name
	cmd    *exec.Cmd
	o      Options
	logs   *Buffer // nil when o.Log is set
	client *http.Client

	mu      sync.Mutex    // guards the fields below
	url     string        // set once, then started is closed
	started chan struct{} // closed once url is known
	tail    []string      // the last lines, see Tail
	partial []byte        // the start of a line not yet ended
	newLine chan struct{} // closed, and replaced, at each line

	done  chan struct{} // closed when the process has exited and its output is read
	state *os.ProcessState
}

// Start starts cmd (its Stdout and Stderr must be unset) and returns at
// once; see WaitURL and WaitReady. It fails tb if cmd cannot start. The
// process is killed, if it still runs, when the test ends.
func Start(tb TB, cmd *exec.Cmd, o Options) *Process {
	tb.Helper()
	p := &Process{
		name:    filepath.Base(cmd.Path),
		cmd:     cmd,
		o:       o,
		client:  &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		url:     o.URL,
		started: make(chan struct{}),
		newLine: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if o.URL != "" {
		close(p.started)
	}
	if o.Log == nil {
		p.logs = &Buffer{}
	}
	// One writer for both: exec then reads them through one pipe, in
	// order, and Wait returns once that pipe is read to its end.
	w := lineWriter{p}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = 5 * time.Second // in case a child keeps the pipe open
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		rest := p.partial
		p.partial = nil
		p.mu.Unlock()
		if len(rest) > 0 {
			p.line(string(rest))
		}
		p.state = cmd.ProcessState
		p.client.CloseIdleConnections()
		close(p.done)
	}()
	tb.Cleanup(p.Kill)
	return p
}

// lineWriter cuts what a process writes into lines.
type lineWriter struct{ p *Process }

// Write hands each line ended in b to line, and keeps the rest for the
// next Write; it never fails.
func (w lineWriter) Write(b []byte) (int, error) {
	p := w.p
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.mu.Lock()
			p.partial = append(p.partial, b...)
			p.mu.Unlock()
			break
		}
		p.mu.Lock()
		line := string(append(p.partial, b[:i]...))
		p.partial = nil
		p.mu.Unlock()
		p.line(line)
		b = b[i+1:]
	}
	return n, nil
}

// line handles one line of output.
func (p *Process) line(s string) {
	if p.logs != nil {
		_, _ = p.logs.Write([]byte(s + "\n"))
	} else {
		_, _ = io.WriteString(p.o.Log, s+"\n")
	}
	if strings.Contains(s, `msg="muc-kick started"`) {
		if m := startedLine.FindStringSubmatch(s); m != nil {
			p.mu.Lock()
			if p.url == "" {
				p.url = "http://" + m[1]
				close(p.started)
			}
			p.mu.Unlock()
		}
	}
	if p.o.Line != nil {
		p.o.Line(s)
	}
	tailed := p.o.Untailed == nil || !p.o.Untailed(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	if tailed {
		p.tail = append(p.tail, s)
		if len(p.tail) > tailLines {
			p.tail = p.tail[len(p.tail)-tailLines:]
		}
	}
	close(p.newLine)
	p.newLine = make(chan struct{})
}

// URL returns the process's base URL, "http://host:port", once known.
func (p *Process) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs returns what the process has written so far, unless Options.Log
// took it.
func (p *Process) Logs() string {
	if p.logs == nil {
		return ""
	}
	return p.logs.String()
}

// Tail returns the last lines the process wrote (at most 60), but those
// Options.Untailed leaves out.
func (p *Process) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n") + "\n"
}

// Done is closed once the process has exited and its output is read to
// the end.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether Done is closed.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// State returns how the process ended, or nil while it runs.
func (p *Process) State() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.state
}

// WaitURL waits until muc-kick has logged its HTTP address, or the URL was
// given, and returns true; it returns false when the process exits first,
// and fails tb when neither happens within timeout.
func (p *Process) WaitURL(tb TB, timeout time.Duration) bool {
	tb.Helper()
	select {
	case <-p.started:
		return true
	case <-p.done:
		select {
		case <-p.started:
			return true
		default:
			return false
		}
	case <-time.After(timeout):
		tb.Fatalf("%s did not log its HTTP address within %s; its last lines:\n%s", p.name, timeout, p.Tail())
		return false
	}
}

// WaitReady waits until /readyz answers 200 and returns when it did. It
// fails tb when the process exits, or after timeout.
func (p *Process) WaitReady(tb TB, timeout time.Duration) time.Time {
	tb.Helper()
	return p.waitReadyz(tb, true, timeout)
}

// WaitUnready waits until /readyz answers anything but 200 (503, when the
// daemon has lost its server), and fails tb as WaitReady does.
func (p *Process) WaitUnready(tb TB, timeout time.Duration) {
	tb.Helper()
	p.waitReadyz(tb, false, timeout)
}

func (p *Process) waitReadyz(tb TB, ready bool, timeout time.Duration) time.Time {
	tb.Helper()
	want := map[bool]string{true: "200", false: "not 200"}[ready]
	deadline := time.Now().Add(timeout)
	for {
		if code, _, err := p.Get("/readyz"); err == nil && (code == http.StatusOK) == ready {
			return time.Now()
		}
		if p.Exited() {
			tb.Fatalf("%s exited (%v) while waiting for /readyz %s; its last lines:\n%s", p.name, p.State(), want, p.Tail())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: /readyz not %s within %s; its last lines:\n%s", p.name, want, timeout, p.Tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitLog waits until what the process has logged contains substr, and
// fails tb if it has not within timeout, or the process exited without. It
// reads Logs, so it fails at once when Options.Log took the lines.
func (p *Process) WaitLog(tb TB, substr string, timeout time.Duration) {
	tb.Helper()
	if p.logs == nil {
		tb.Fatalf("testkit: WaitLog(%q) on %s, whose lines go to Options.Log: Logs is empty", substr, p.name)
		return
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		// The channel first: a line logged after the check closes it.
		p.mu.Lock()
		next := p.newLine
		p.mu.Unlock()
		if strings.Contains(p.Logs(), substr) {
			return
		}
		select {
		case <-next:
		case <-p.done:
			if !strings.Contains(p.Logs(), substr) {
				tb.Fatalf("%s exited (%v) without logging %q; its last lines:\n%s", p.name, p.state, substr, p.Tail())
			}
			return
		case <-timer.C:
			tb.Fatalf("%s did not log %q within %s; its last lines:\n%s", p.name, substr, timeout, p.Tail())
			return
		}
	}
}

// Get requests path (e.g. "/readyz") from the process, through its own
// keep-alive connection, and returns the status and the body.
func (p *Process) Get(path string) (int, []byte, error) {
	resp, err := p.client.Get(p.URL() + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // to the end: the connection is reused
	return resp.StatusCode, body, err
}

// Metrics reads the unlabelled samples of the process's /metrics page
// (Prometheus' text format), e.g. go_goroutines.
func (p *Process) Metrics() (map[string]float64, error) {
	code, body, err := p.Get("/metrics")
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("%s /metrics: HTTP %d", p.name, code)
	}
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			m[name] = v
		}
	}
	return m, nil
}

// ProcStatus reads the process's memory and threads from /proc/PID/status
// (see ReadStatus); not to be confused with State, how it ended.
func (p *Process) ProcStatus() (Status, error) { return ReadStatus(p.Pid()) }

// Signal sends sig to the process. Its error wraps os.ErrProcessDone if the
// process has exited and was waited for.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signalling %s: %w", p.name, err)
	}
	return nil
}

// Wait waits until the process has exited (and its output is read), and
// fails tb if it has not within timeout.
func (p *Process) Wait(tb TB, timeout time.Duration) *os.ProcessState {
	tb.Helper()
	select {
	case <-p.done:
		return p.state
	case <-time.After(timeout):
		tb.Fatalf("%s still running after %s", p.name, timeout)
		return nil
	}
}

// Stop asks the process to end with SIGTERM, kills it if it has not within
// timeout, and returns how it ended.
func (p *Process) Stop(timeout time.Duration) *os.ProcessState {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
	}
	return p.state
}

// Kill kills the process with SIGKILL, unless it has exited, and waits
// until it is gone. The idle connections of the process's own HTTP client
// are closed then, as whenever the process ends.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
	p.client.CloseIdleConnections() // a Get may have ended after the process
}
