// Command soak runs the muc-kick binary for a long time against a real
// Prosody that is restarted again and again, while kicks are fired
// continuously at bounded concurrency, and checks what a backend relies on:
//
//   - no request hangs (each is bounded by an HTTP client timeout);
//   - every answer is 200, 404, 503 or 504: the statuses muc-kick documents
//     for kicks whose server comes and goes;
//   - every 200 is a kick the occupant received (its status-307 presence),
//     or, when Prosody went away before writing that presence to the
//     occupant, one the room announced on the component's stream (a proxy
//     between muc-kick and Prosody reads it);
//   - after each restart muc-kick is ready again by itself, and it exits 0
//     on SIGTERM at the end.
//
// It prints the daemon's resident memory (VmRSS, VmHWM) and thread count
// from /proc at the start, after each restart and at the end, so that a leak
// shows as a trend, and its goroutines as its /metrics reports them
// (go_goroutines) where that endpoint exists. At the end, once idle, the
// daemon must be back to the goroutines it had before the first kick;
// TestResilienceGoroutinesReturnToBaseline checks the same in-process.
//
// Run it from the repository's root with `make soak`, or
//
//	go run ./tools/soak -duration 40s -restart-every 10s   # or -short
//
// It exits 1 if any check failed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

const authz = "Basic c29hazpzb2Fr" // soak:soak

// iqTimeout is the daemon's component.iq_timeout; a kick takes at most three
// of them plus 5 s (the daemon's own bound), so clientTimeout means a request
// hung.
const (
	iqTimeout     = 5 * time.Second
	clientTimeout = 30 * time.Second
	// readyTimeout bounds the wait for /readyz after a restart: the
	// reconnect delay is capped at 30 s.
	readyTimeout = 45 * time.Second
)

type options struct {
	duration     time.Duration
	restartEvery time.Duration
	rooms        int
	occupants    int
	concurrency  int
	race         bool
	verbose      bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to fire kicks")
	flag.DurationVar(&o.restartEvery, "restart-every", 30*time.Second, "restart Prosody this often, alternately with Stop+Start and Kill+Start")
	flag.IntVar(&o.rooms, "rooms", 4, "number of rooms")
	flag.IntVar(&o.occupants, "occupants", 8, "occupants per room, kicked and re-joining in turn")
	flag.IntVar(&o.concurrency, "concurrency", 8, "kicks in flight at most")
	flag.BoolVar(&o.race, "race", false, "build muc-kick with the race detector (RSS is then not representative)")
	flag.BoolVar(&o.verbose, "v", false, "print the test harness's log lines")
	short := flag.Bool("short", false, "a CI run: -duration 40s -restart-every 10s unless given")
	flag.Parse()
	if *short {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			o.duration = 40 * time.Second
		}
		if !set["restart-every"] {
			o.restartEvery = 10 * time.Second
		}
	}
	if o.duration <= 0 || o.restartEvery <= 0 || o.rooms < 1 || o.occupants < 1 || o.concurrency < 1 {
		fmt.Fprintln(os.Stderr, "soak: -duration and -restart-every must be positive, -rooms, -occupants and -concurrency at least 1")
		os.Exit(2)
	}
	h := newHarness(o.verbose)
	// Prosody runs in a process group of its own: on Ctrl-C, stop it and
	// the daemon before leaving.
	h.CloseOnInterrupt(func(s os.Signal) {
		h.aborted.Store(true)
		fmt.Fprintf(os.Stderr, "soak: %v: stopping Prosody and muc-kick (Ctrl-C again quits at once)\n", s)
	})
	os.Exit(h.run(o))
}

// harness is the soak's testkit.Program (Fatal ends the goroutine that
// called it, under testkit.Try), and what it counts: a failed check is
// printed at once and the first 20 again at the end. Its methods are safe
// for concurrent use, because occupants connect from many goroutines.
type harness struct {
	*testkit.Program
	aborted atomic.Bool // interrupted: what fails from now on is no news

	mu       sync.Mutex
	failures []string
	failed   int
}

func newHarness(verbose bool) *harness {
	h := &harness{}
	h.Program = &testkit.Program{Name: "soak", OnError: h.fail}
	if verbose {
		h.OnLog = func(msg string) { fmt.Println("   " + msg) }
	}
	return h
}

// fail records a failed check; the first 20 are printed at the end.
func (h *harness) fail(msg string) {
	if h.aborted.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed++
	if len(h.failures) < 20 {
		h.failures = append(h.failures, msg)
	}
	fmt.Printf("FAIL: %s\n", msg)
}

func (h *harness) failedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

// run runs the soak and prints the verdict, then stops Prosody and the
// daemon: on a panic too, which then goes on (Prosody, in a process group of
// its own, would outlive the soak).
func (h *harness) run(o options) (code int) {
	defer h.Close()
	if err := testkit.Try(func() { h.soak(o) }); err != nil {
		fmt.Println("soak failed:", err)
		return 1
	}
	if n := h.failedCount(); n > 0 {
		fmt.Printf("\nFAILED: %d checks failed; the first:\n", n)
		for _, f := range h.failures {
			fmt.Println("  -", f)
		}
		return 1
	}
	fmt.Println("\nPASS")
	return 0
}

func (h *harness) soak(o options) {
	began := time.Now()
	srv := xmpptest.StartProsody(h)
	dir := h.TempDir()
	bin := filepath.Join(dir, "muc-kick")
	var flags []string
	if o.race {
		flags = append(flags, "-race")
	}
	if err := testkit.Build(bin, ".", flags...); err != nil {
		h.Fatal(err)
	}
	tp := xmpptest.StartProxy(h, srv.ComponentAddr)
	d := startDaemon(h, bin, dir, srv, tp.Addr())
	d.WaitReady(h, readyTimeout)

	fmt.Printf("soak: %s of kicks, Prosody restarted every %s (Stop+Start and Kill+Start in turn), %d rooms × %d occupants, %d kicks in flight at most\n",
		o.duration, o.restartEvery, o.rooms, o.occupants, o.concurrency)
	fmt.Printf("muc-kick pid %d (built%s), HTTP %s, Prosody c2s %s, component %s (through a proxy at %s that reads the room's 307s); set up in %s\n",
		d.Pid(), map[bool]string{true: " with -race", false: ""}[o.race], d.URL(), srv.ClientAddr, srv.ComponentAddr, tp.Addr(),
		time.Since(began).Round(time.Millisecond))
	startMem := d.mem()
	// The baseline is the most of five reads over a second: the count moves
	// by one or two while the component's first probe and keepalive pings
	// come and go (seen: 14, 15 and 16 in one second), and a leak worth
	// finding grows with every restart, by more than that.
	startG, haveG := d.goroutines()
	for range 4 {
		time.Sleep(250 * time.Millisecond)
		if n, ok := d.goroutines(); ok && n > startG {
			startG = n
		}
	}
	fmt.Printf("start: requests 0, reconnects 0, %s\n", startMem)

	st := &stats{codes: map[int]int{}}
	k := &kicker{h: h, srv: srv, d: d, tap: tp, st: st, client: &http.Client{
		Timeout:   clientTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency},
	}}
	for r := range o.rooms {
		for u := range o.occupants {
			k.slots = append(k.slots, &slot{room: fmt.Sprintf("soak%d@%s", r, srv.MUCDomain), nick: fmt.Sprintf("o%d", u)})
		}
	}

	start := time.Now()
	end := start.Add(o.duration)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { // a panic here ends the soak: stop Prosody first
				if v := recover(); v != nil {
					h.Close()
					panic(v)
				}
			}()
			k.loop(end)
		}()
	}

	// A restart every restartEvery, but never before the daemon has been
	// ready for a third of that: a daemon slow to come back must still be
	// seen kicking between restarts.
	restarts := 0
	var recoveries []time.Duration
	for next := start.Add(o.restartEvery); next.Before(end); {
		time.Sleep(time.Until(next))
		restarts++
		mode := "stop+start"
		t0 := time.Now()
		at := t0.Sub(start)
		if restarts%2 == 1 {
			srv.Stop()
		} else {
			mode = "kill+start"
			srv.Kill()
		}
		down := time.Since(t0)
		srv.Start()
		k.gen.Add(1) // every client connection died with the server
		up := time.Now()
		ready := d.WaitReady(h, readyTimeout)
		recoveries = append(recoveries, ready.Sub(up))
		fmt.Printf("restart %d (%s) at %s: stopping took %s, ready again %s after the server; %s; reconnects %d; %s\n",
			restarts, mode, at.Round(100*time.Millisecond), down.Round(time.Millisecond),
			ready.Sub(up).Round(time.Millisecond), st, d.connected.Load()-1, d.mem())
		next = t0.Add(o.restartEvery)
		if earliest := ready.Add(o.restartEvery / 3); next.Before(earliest) {
			next = earliest
		}
	}
	wg.Wait()
	fmt.Printf("kicks stopped after %s\n", time.Since(start).Round(100*time.Millisecond))

	// After the last restart the daemon still kicks.
	d.WaitReady(h, readyTimeout)
	final := &slot{room: "soakfinal@" + srv.MUCDomain, nick: "final"}
	if err := k.ensure(final); err != nil {
		h.Errorf("the final occupant cannot join: %v", err)
	} else if out := k.post(final); out.err != nil || out.code != 200 {
		h.Errorf("the final kick: %d %q %v, want 200", out.code, out.errText, out.err)
	} else if _, _, err := final.occ.WaitKicked(5 * time.Second); err != nil {
		h.Errorf("the final kick: 200 but no 307: %v", err)
	} else {
		st.verified.Add(1)
	}
	endMem := d.mem()

	// Idle again (rooms left after the linger, keep-alive connections
	// closed), the daemon has the goroutines it had before the first kick.
	endG := startG
	if haveG {
		k.client.CloseIdleConnections()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			endG, _ = d.goroutines()
			if endG <= startG || time.Now().After(deadline) {
				break
			}
		}
		if endG > startG {
			h.Errorf("the idle daemon has %d goroutines, %d before the first kick", endG, startG)
		}
	}

	var state *os.ProcessState
	signal := "SIGTERM"
	if endG > startG {
		signal = "SIGQUIT"
		// Which goroutines? SIGQUIT makes the Go runtime print them all
		// and exit 2, so there is no SIGTERM check this time. If the
		// daemon has exited already, the summary says how.
		_ = d.Signal(syscall.SIGQUIT)
		select {
		case <-d.Done():
			state = d.State()
		case <-time.After(10 * time.Second):
		}
		fmt.Printf("\nthe daemon's goroutines (SIGQUIT):\n%s\n", d.dump())
	} else {
		// SIGTERM: exit 0. If the daemon has exited already, its exit
		// state is checked the same.
		_ = d.Signal(syscall.SIGTERM)
		select {
		case <-d.Done():
			state = d.State()
			if state.ExitCode() != 0 {
				h.Errorf("muc-kick exited with %v after SIGTERM, want 0", state)
			}
		case <-time.After(45 * time.Second):
			h.Errorf("muc-kick did not exit within 45s of SIGTERM")
		}
	}

	fmt.Printf("\nsummary after %s of kicks and %d restarts of Prosody:\n", o.duration, restarts)
	fmt.Printf("  requests    %s\n", st)
	fmt.Printf("  verified    %d kicks answered 200 whose occupant received the 307; %d answered 503/504 that happened nonetheless\n",
		st.verified.Load(), st.ambiguous.Load())
	if n := st.cutOff.Load(); n > 0 {
		fmt.Printf("  cut off     %d kicks answered 200 as Prosody went away: the room announced them on the component's stream, but the occupant's stream ended before its 307\n", n)
	}
	fmt.Printf("  latency     %s\n", st.latency())
	fmt.Printf("  hung        %d (no answer within %s)\n", st.hung.Load(), clientTimeout)
	if len(recoveries) > 0 {
		var sum time.Duration
		for _, r := range recoveries {
			sum += r
		}
		fmt.Printf("  recovery    ready again after a restart: mean %s, max %s (from the server's start to /readyz 200)\n",
			(sum / time.Duration(len(recoveries))).Round(time.Millisecond), slices.Max(recoveries).Round(time.Millisecond))
	}
	fmt.Printf("  reconnects  %d (\"component: connected\" lines after the first), %d disconnects logged\n",
		d.connected.Load()-1, d.disconnected.Load())
	fmt.Printf("  daemon log  %d kick lines, %d warnings, %d errors\n", d.kickLines.Load(), d.warnings.Load(), d.errorLines.Load())
	fmt.Printf("  start       %s\n", startMem)
	fmt.Printf("  end         %s\n", endMem)
	if haveG {
		fmt.Printf("  goroutines  %d before the first kick, %d once idle at the end (go_goroutines of /metrics)\n", startG, endG)
	} else {
		fmt.Printf("  goroutines  not visible from outside (no /metrics); TestResilienceGoroutinesReturnToBaseline checks them\n")
	}
	if state != nil {
		fmt.Printf("  exit        %v after %s\n", state, signal)
	}

	if n := st.requests.Load(); d.kickLines.Load() != n {
		h.Errorf("the daemon logged %d kick lines for %d answered requests (one each, says docs/api.md)", d.kickLines.Load(), n)
	}
	if d.connected.Load()-1 < int64(restarts) {
		h.Errorf("%d reconnects for %d restarts", d.connected.Load()-1, restarts)
	}
	if h.failedCount() > 0 {
		fmt.Printf("\nmuc-kick log kept in %s; its last lines:\n%s", d.logPath, d.Tail())
		d.keepLog = true
	}
}

// daemon is the muc-kick subprocess and what its stderr said.
type daemon struct {
	*testkit.Process
	logPath string
	keepLog bool

	connected    atomic.Int64 // "component: connected" lines
	disconnected atomic.Int64
	kickLines    atomic.Int64
	warnings     atomic.Int64
	errorLines   atomic.Int64
}

func startDaemon(h *harness, bin, dir string, srv *xmpptest.Server, componentAddr string) *daemon {
	cfg := fmt.Sprintf(`[component]
server = %q
domain = %q
secret = %q
iq_timeout = %q

[muc]
domains = [%q]
nick = "kickbot"
linger = "2s"

[http]
listen = "127.0.0.1:0"
authorization_header = %q
`, componentAddr, srv.ComponentDomain, srv.Secret, iqTimeout.String(), srv.MUCDomain, authz)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		h.Fatal(err)
	}
	// The log outlives the temporary directory when a check fails.
	logFile, err := os.CreateTemp("", "muc-kick-soak-*.log")
	if err != nil {
		h.Fatal(err)
	}
	d := &daemon{logPath: logFile.Name()}
	h.Cleanup(func() { // registered first: runs once the daemon is gone
		logFile.Close()
		if !d.keepLog {
			os.Remove(d.logPath)
		}
	})
	d.Process = testkit.Start(h, exec.Command(bin, "-config", cfgPath), testkit.Options{
		Log:      logFile,
		Line:     d.note,
		Untailed: isKickLine, // too many to keep: the file has them
	})
	if !d.WaitURL(h, 10*time.Second) {
		h.Fatalf("muc-kick exited at once (%v):\n%s", d.State(), d.Tail())
	}
	return d
}

func isKickLine(line string) bool { return strings.Contains(line, "msg=kick ") }

// note counts what one stderr line says.
func (d *daemon) note(line string) {
	switch {
	case strings.Contains(line, `msg="component: connected"`):
		d.connected.Add(1)
	case strings.Contains(line, `msg="component: disconnected"`):
		d.disconnected.Add(1)
	case isKickLine(line):
		d.kickLines.Add(1)
	}
	switch {
	case strings.Contains(line, "level=WARN"):
		d.warnings.Add(1)
	case strings.Contains(line, "level=ERROR"):
		d.errorLines.Add(1)
	}
}

// dump returns the start of what the Go runtime printed on SIGQUIT, from
// the log file.
func (d *daemon) dump() string {
	<-d.Done()
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return err.Error()
	}
	i := bytes.Index(b, []byte("SIGQUIT: quit"))
	if i < 0 {
		return "(no goroutine dump in the log)"
	}
	lines := strings.SplitAfter(string(b[i:]), "\n")
	if len(lines) > 300 {
		return strings.Join(lines[:300], "") + fmt.Sprintf("… %d more lines in %s\n", len(lines)-300, d.logPath)
	}
	return strings.Join(lines, "")
}

// mem reads the daemon's memory and threads from /proc, and its goroutines
// from /metrics if it can.
func (d *daemon) mem() string {
	st, err := d.ProcStatus()
	if err != nil {
		return fmt.Sprintf("(no /proc status: %v)", err)
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	g := ""
	if n, ok := d.goroutines(); ok {
		g = fmt.Sprintf(", goroutines %d", n)
	}
	return fmt.Sprintf("RSS %.1f MiB (peak %.1f MiB), threads %d%s", mib(st.RSS), mib(st.HWM), st.Threads, g)
}

// goroutines reads go_goroutines from the daemon's /metrics, if it has one.
func (d *daemon) goroutines() (int, bool) {
	m, err := d.Metrics()
	n, ok := m["go_goroutines"]
	return int(n), err == nil && ok
}

// stats counts outcomes; its String is one line.
type stats struct {
	requests  atomic.Int64
	hung      atomic.Int64
	verified  atomic.Int64
	cutOff    atomic.Int64 // 200s seen on the component's stream, whose occupant the server cut off first
	ambiguous atomic.Int64

	mu        sync.Mutex
	codes     map[int]int
	durations []time.Duration // of the 200s
}

func (s *stats) add(code int, took time.Duration) {
	s.requests.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code]++
	if code == 200 {
		s.durations = append(s.durations, took)
	}
}

func (s *stats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]int, 0, len(s.codes))
	for c := range s.codes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d: %d", c, s.codes[c]))
	}
	return fmt.Sprintf("requests %d (%s)", s.requests.Load(), strings.Join(parts, ", "))
}

func (s *stats) latency() string {
	s.mu.Lock()
	d := slices.Clone(s.durations)
	s.mu.Unlock()
	if len(d) == 0 {
		return "no 200s"
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("of the 200s: p50 %s, p99 %s, max %s", q(0.5), q(0.99), d[len(d)-1].Round(time.Millisecond))
}

// kicker fires kicks at the occupants of its slots.
type kicker struct {
	h      *harness
	srv    *xmpptest.Server
	d      *daemon
	tap    *xmpptest.Proxy
	st     *stats
	client *http.Client
	gen    atomic.Int64 // bumped at every server restart: older clients are dead

	mu    sync.Mutex
	slots []*slot
}

// slot is one occupant: a nickname in a room, and the client that holds it
// while it is in the room. A slot is used by one goroutine at a time.
type slot struct {
	room, nick string

	busy    bool // guarded by kicker.mu
	client  *xmpptest.Client
	gen     int64 // of client
	occ     *xmpptest.Occupant
	present bool // occ is in the room, as far as we know
}

// loop picks a free slot, makes sure its occupant is in the room, kicks it
// and checks the outcome, until end.
func (k *kicker) loop(end time.Time) {
	for time.Now().Before(end) {
		s := k.pick()
		if s == nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		pause := k.once(s)
		k.release(s)
		time.Sleep(pause)
	}
}

func (k *kicker) pick() *slot {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, i := range rand.Perm(len(k.slots)) {
		if s := k.slots[i]; !s.busy {
			s.busy = true
			return s
		}
	}
	return nil
}

func (k *kicker) release(s *slot) {
	k.mu.Lock()
	s.busy = false
	k.mu.Unlock()
}

// once kicks s and returns how long to pause before the next kick.
func (k *kicker) once(s *slot) time.Duration {
	if err := k.ensure(s); err != nil {
		return 100 * time.Millisecond // the server is restarting
	}
	seen := k.tap.Kicks(s.room, s.nick)
	out := k.post(s)
	switch {
	case out.err != nil:
		if errors.Is(out.err, context.DeadlineExceeded) || strings.Contains(out.err.Error(), "Client.Timeout") {
			k.st.hung.Add(1)
			k.h.Errorf("kick %s in %s hung: no answer within %s", s.nick, s.room, clientTimeout)
		} else {
			k.h.Errorf("kick %s in %s: no answer: %v", s.nick, s.room, out.err)
		}
		return 0
	}
	switch out.code {
	case 200:
		_, _, err := s.occ.WaitKicked(5 * time.Second)
		switch {
		case err == nil:
			k.st.verified.Add(1)
		case strings.Contains(err.Error(), "client connection closed") && k.tap.WaitKicks(s.room, s.nick, seen+1, time.Second):
			// The server is going away. The room announced the kick on
			// the component's stream, ahead of the result, but the
			// occupant's stream ended first: a stopping Prosody closes
			// client streams (system-shutdown) before its MUC stops, and
			// a killed one may die between its writes to the two sockets.
			k.st.cutOff.Add(1)
		default:
			k.h.Errorf("kick %s in %s: 200 after %s, but the occupant received no 307: %v", s.nick, s.room, out.took.Round(time.Millisecond), err)
		}
		s.present = false
	case 404:
		// The room or the occupant is gone: a restart emptied it, or an
		// earlier ambiguous kick happened after all. Start afresh.
		k.drop(s)
	case 503, 504:
		// "The kick may or may not have happened."
		if _, _, err := s.occ.WaitKicked(200 * time.Millisecond); err == nil {
			k.st.ambiguous.Add(1)
			s.present = false
		} else if s.gen != k.gen.Load() {
			k.drop(s)
		}
		return 100 * time.Millisecond
	default:
		k.h.Errorf("kick %s in %s: status %d %q, want 200, 404, 503 or 504", s.nick, s.room, out.code, out.errText)
		k.drop(s)
	}
	return 0
}

// ensure puts the occupant of s in its room, with a new client if the
// current one died with the server.
func (k *kicker) ensure(s *slot) error {
	if s.present && s.gen == k.gen.Load() {
		return nil
	}
	if s.client != nil && s.gen != k.gen.Load() {
		k.drop(s)
	}
	if s.client == nil {
		gen := k.gen.Load()
		var c *xmpptest.Client
		if err := testkit.Try(func() { c = xmpptest.Connect(k.h, k.srv) }); err != nil {
			return err
		}
		s.client, s.gen = c, gen
	}
	o, err := s.client.Join(s.room, s.nick)
	if err != nil {
		k.drop(s)
		return err
	}
	s.occ, s.present = o, true
	return nil
}

// drop closes the client of s, so that the next ensure connects anew.
func (k *kicker) drop(s *slot) {
	if s.client != nil {
		s.client.Close()
	}
	s.client, s.occ, s.present = nil, nil, false
}

type outcome struct {
	sent    time.Time
	code    int
	errText string
	err     error
	took    time.Duration
}

// post kicks the occupant of s and counts the answer.
func (k *kicker) post(s *slot) outcome {
	body, _ := json.Marshal(map[string]string{"nickname": s.nick, "muc": s.room, "reason": "soak"})
	req, _ := http.NewRequest("POST", k.d.URL()+"/muc_kick", bytes.NewReader(body))
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := k.client.Do(req)
	if err != nil {
		return outcome{sent: start, err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	out := outcome{sent: start, code: resp.StatusCode, err: err, took: time.Since(start)}
	k.st.add(out.code, out.took) // answered: the daemon logged it
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	out.errText = e.Error
	return out
}
