package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// The scenario parts 2 and 6 share: rooms of real occupants on a Prosody,
// kicked in bursts by three kickers in turn, each run measured by the CPU
// time of the server's process and of the muc-kick process.
//
//   - "muc-kick": the muc-kick binary, a subprocess built from this tree,
//     configured as an admin would (log level info: an audit line per kick),
//     warm in every room (linger 1h), over HTTP.
//   - "direct": one c2s client, owner of every room, sending the kick IQ
//     itself on its one stream: the server's own ceiling.
//   - "module": Prosody's in-process mod_http_muc_kick over HTTP, when
//     MUC_KICK_BENCH_MODULE names its file (it is not in Debian's
//     prosody-modules, and is never copied into this repository).
//
// muc-kick and the direct client stay in every room in every run, so the
// rooms are the same whoever kicks: each broadcast has the same recipients.

// moduleEnv names the file of mod_http_muc_kick.lua for the "module" kicker.
const moduleEnv = "MUC_KICK_BENCH_MODULE"

type kicker struct {
	name string
	kick func(room, nick string) error
	proc *process // the muc-kick process that does the kicks, or nil
}

// burstEnv is one server with its rooms, occupants and kickers.
type burstEnv struct {
	srv      *xmpptest.Server
	srvPid   int
	mk       *process // today's muc-kick
	base     *process // muc-kick built from -baseline-rev, or nil
	bare     *process // part 2's floor (floor.go), or nil
	hc       *http.Client
	rooms    []string
	clients  []*lightClient // client k is occupant user<k> of every room
	cr       *crowd
	kickers  []kicker
	pinned   string // how the processes are pinned, for the notes
	rest     string // the CPUs of everything but the server, when pinned
	profile  string // the muc-kick CPU profile's file, or ""
	perfStat bool   // -perf-stat: count muc-kick's system calls in its runs
}

// burstResult is one measured run.
type burstResult struct {
	*sample
	mkCPU   time.Duration // CPU time of the kicker's muc-kick process (today's for the others) over the run
	missing int           // kicked occupants that saw no status-307 presence
	perf    perfCounts    // with -perf-stat, of today's muc-kick in its own runs
}

// add sums r and t, runs of the same kicker.
func (r *burstResult) add(t *burstResult) {
	r.merge(t.sample)
	r.mkCPU += t.mkCPU
	r.missing += t.missing
	r.perf.syscalls += t.perf.syscalls
	r.perf.switches += t.perf.switches
}

func (r *burstResult) serverPerKick() float64 { return perK(r.serverCPU, r.n) / 1000 }
func (r *burstResult) mkPerKick() float64     { return perK(r.mkCPU, r.n) / 1000 }

// muckickBinary builds the muc-kick binary once per bench run, and
// muckickProfiling the same with profile_bench.go (see startMuckick).
var (
	muckickBinary    = sync.OnceValues(func() (string, error) { return buildMuckick() })
	muckickProfiling = sync.OnceValues(func() (string, error) { return buildMuckick("-tags", "benchprofile") })
)

func buildMuckick(flags ...string) (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "muc-kick"+strings.Join(flags, "-"))
	return bin, testkit.Build(bin, ".", append([]string{"-trimpath"}, flags...)...)
}

var (
	revMu   sync.Mutex
	revBins = map[string]string{}
)

// buildRev builds muc-kick as it was at the git revision rev (-baseline-rev),
// from `git archive` of this repository, once per bench run.
func buildRev(rev string) (string, error) {
	revMu.Lock()
	defer revMu.Unlock()
	if bin, ok := revBins[rev]; ok {
		return bin, nil
	}
	root, err := testkit.ModuleRoot()
	if err != nil {
		return "", err
	}
	bins, err := binDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(bins, "rev-")
	if err != nil {
		return "", err
	}
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, rev, dir)
	if out, err := testkit.CombinedOutput(archive); err != nil {
		return "", fmt.Errorf("git archive %s: %v: %s", rev, err, out)
	}
	bin := filepath.Join(dir, "muc-kick-"+rev)
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Dir = dir
	if out, err := testkit.CombinedOutput(build); err != nil {
		return "", fmt.Errorf("building %s: %v: %s", rev, err, out)
	}
	revBins[rev] = bin
	return bin, nil
}

// modulePath is the mod_http_muc_kick.lua named by MUC_KICK_BENCH_MODULE,
// or "" (with the reason) when there is none.
func modulePath() (string, string) {
	p := os.Getenv(moduleEnv)
	if p == "" {
		return "", moduleEnv + " is not set"
	}
	if filepath.Base(p) != "mod_http_muc_kick.lua" {
		return "", moduleEnv + " must name a file mod_http_muc_kick.lua"
	}
	if _, err := os.Stat(p); err != nil {
		return "", err.Error()
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err.Error()
	}
	return abs, ""
}

// startBurstEnv starts inst with R rooms of K occupants each, the direct
// client owning every room, muc-kick warm in every room, and the module
// when modPath is set.
func startBurstEnv(tb *testkit.Program, o *options, inst xmpptest.Install, R, K int, modPath, profile string) (*burstEnv, error) {
	start := inst.Start
	if o.baselineRev != "" {
		start = inst.StartHA // two component domains: one per muc-kick
	}
	srv := start(tb)
	modURL := ""
	if modPath != "" {
		port := testkit.FreePort(tb)
		if err := enableModule(srv, modPath, port); err != nil {
			return nil, err
		}
		modURL = "http://127.0.0.1:" + strconv.Itoa(port) + "/muc_kick"
	}
	// Runs first: a graceful stop would broadcast a departure per
	// occupant to every other one.
	tb.Cleanup(srv.Kill)
	e := &burstEnv{srv: srv, srvPid: srv.Pid(), cr: &crowd{botNick: "kickbot"}}
	if e.srvPid == 0 {
		return nil, fmt.Errorf("no process of %s found", srv.Name())
	}
	for r := range R {
		e.rooms = append(e.rooms, fmt.Sprintf("burst%d@%s", r, srv.MUCDomain))
	}
	direct := xmpptest.Connect(tb, srv)
	for _, room := range e.rooms {
		if _, err := direct.Join(room, "moderator"); err != nil {
			return nil, fmt.Errorf("direct client entering %s: %w", room, err)
		}
	}
	if err := e.startMuckick(tb, profile); err != nil {
		return nil, err
	}
	if o.baselineRev != "" {
		bin, err := buildRev(o.baselineRev)
		if err != nil {
			return nil, err
		}
		if e.base, err = e.startDaemon(tb, bin, 1, "kickbot-base", ""); err != nil {
			return nil, err
		}
	}
	if err := e.startOccupants(tb, K); err != nil {
		return nil, err
	}
	hc := newClient(256)
	e.hc = hc
	through := func(p *process) func(room, nick string) error {
		return func(room, nick string) error { return postKick(hc, p.URL()+"/muc_kick", room, nick) }
	}
	e.kickers = []kicker{
		{"muc-kick", through(e.mk), e.mk},
		{"direct", func(room, nick string) error { return direct.Kick(room, nick, kickReason) }, nil},
	}
	if e.base != nil {
		e.kickers = append(e.kickers, kicker{"muc-kick@" + o.baselineRev, through(e.base), e.base})
	}
	if modURL != "" {
		e.kickers = append(e.kickers, kicker{"module", func(room, nick string) error { return postKick(hc, modURL, room, nick) }, nil})
	}
	// The first kick into each room enters it: outside the measured runs.
	for _, k := range e.kickers {
		if _, err := e.run(k, R, min(R, 16)); err != nil {
			return nil, fmt.Errorf("warming %s up: %w", k.name, err)
		}
	}
	e.pin(o)
	return e, nil
}

// enableModule restarts srv with mod_http_muc_kick loaded from modPath on
// its virtual hosts, serving HTTP on 127.0.0.1:port and taking the
// Authorization header every kicker of the bench sends.
func enableModule(srv *xmpptest.Server, modPath string, port int) error {
	const anchor = "modules_disabled = { \"s2s\", \"s2s_auth_certs\", \"offline\" }\n"
	return restartWith(srv, "prosody.cfg.lua", anchor, fmt.Sprintf(`-- The bench's baseline: mod_http_muc_kick (`+moduleEnv+`).
plugin_paths = { %q }
modules_enabled = { "disco", "saslauth", "ping", "version", "http_muc_kick" }
http_ports = { %d }
http_interfaces = { "127.0.0.1" }
http_default_host = %q
http_muc_kick_authorization_header = %q
`, filepath.Dir(modPath), port, srv.AnonDomain, authz))
}

// startMuckick runs today's muc-kick binary against e.srv. With a profile
// file it runs the binary built with profile_bench.go, which writes a CPU
// profile there between profileStart and profileStop.
func (e *burstEnv) startMuckick(tb *testkit.Program, profile string) error {
	build := muckickBinary
	if profile != "" {
		build = muckickProfiling
	}
	bin, err := build()
	if err != nil {
		return err
	}
	e.mk, err = e.startDaemon(tb, bin, 0, "kickbot", profile)
	e.profile = profile
	return err
}

// startDaemon runs bin as the component e.srv.ComponentDomains[i], entering
// rooms as nick, and waits until it is ready.
func (e *burstEnv) startDaemon(tb *testkit.Program, bin string, i int, nick, profile string) (*process, error) {
	listen := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(tb))
	cfg := filepath.Join(tb.TempDir(), "config.toml")
	addr := e.srv.ComponentAddr
	if i < len(e.srv.ComponentAddrs) {
		addr = e.srv.ComponentAddrs[i]
	}
	text := benchConfig(addr, e.srv.ComponentDomains[i], e.srv.Secret, e.srv.MUCDomain, listen, 30*time.Second, time.Hour)
	text = strings.Replace(text, `nick = "kickbot"`, fmt.Sprintf("nick = %q", nick), 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-config", cfg)
	cmd.Env = os.Environ()
	if profile != "" {
		cmd.Env = append(cmd.Env, "MUC_KICK_CPUPROFILE="+profile)
	}
	return startProcess(tb, cmd, "http://"+listen, nil), nil
}

// profileStart and profileStop bracket what the CPU profile covers.
func (e *burstEnv) profileStart() {
	if e.profile != "" {
		_ = e.mk.Signal(syscall.SIGUSR1)
	}
}

func (e *burstEnv) profileStop() {
	if e.profile == "" {
		return
	}
	_ = e.mk.Signal(syscall.SIGUSR2)
	// The profile is written by the time its size stops changing.
	last := int64(-1)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		st, err := os.Stat(e.profile)
		if err == nil && st.Size() > 0 && st.Size() == last {
			break
		}
		if err == nil {
			last = st.Size()
		}
	}
}

// startOccupants connects K light clients, then lets each enter every
// room: all log in first, while the rooms are quiet, since a room of 1,000
// filling up keeps the server too busy to answer a login in time.
func (e *burstEnv) startOccupants(tb *testkit.Program, K int) error {
	e.clients = make([]*lightClient, K)
	tb.Cleanup(func() {
		for _, lc := range e.clients {
			if lc != nil {
				lc.close()
			}
		}
	})
	err := parallel(K, 32, func(k int) (err error) {
		e.clients[k], err = dialLight(e.cr, e.srv.ClientAddr, e.srv.AnonDomain, nickOf(k))
		return err
	})
	if err != nil {
		return err
	}
	var joined atomic.Int64
	err = parallel(K, 32, func(k int) error {
		for _, room := range e.rooms {
			if err := e.clients[k].join(room); err != nil {
				return err
			}
		}
		if n := joined.Add(1); n%100 == 0 {
			progress("  %d of %d occupants in their rooms", n, K)
		}
		return nil
	})
	quiet(e.cr)
	return err
}

// parallel runs f(i) for i in [0, n), at most conc at a time, and returns
// the first error.
func parallel(n, conc int, f func(i int) error) error {
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// target is the room and occupant of kick number i of a run: it goes round
// the rooms, so that concurrent kicks spread over them.
func (e *burstEnv) target(i int) (r, k int) { return i % len(e.rooms), i / len(e.rooms) }

// run kicks the first n targets with k, conc at a time, checks that each
// kicked occupant saw its status-307 presence, and lets them all enter
// again. The CPU times cover the kicks and the broadcasts they caused, not
// the re-entries.
func (e *burstEnv) run(k kicker, n, conc int) (*burstResult, error) {
	waits := make([]func(time.Duration) error, n)
	for i := range n {
		r, c := e.target(i)
		waits[i] = e.clients[c].expectKick(e.rooms[r])
	}
	own := k.proc
	if own == nil {
		own = e.mk // what today's muc-kick pays as an occupant
	}
	var stopPerf func() (perfCounts, error)
	if e.perfStat && k.name == "muc-kick" {
		var err error
		if stopPerf, err = startPerfStat(own.Pid()); err != nil {
			return nil, err
		}
	}
	srv0, mk0 := cpuTimeOf(e.srvPid), cpuTimeOf(own.Pid())
	sm := each(n, conc, func(i int) error {
		r, c := e.target(i)
		return k.kick(e.rooms[r], nickOf(c))
	})
	res := &burstResult{sample: sm}
	for _, w := range waits {
		if w(10*time.Second) != nil {
			res.missing++
		}
	}
	res.serverCPU = cpuTimeOf(e.srvPid) - srv0
	res.mkCPU = cpuTimeOf(own.Pid()) - mk0
	if stopPerf != nil {
		var err error
		if res.perf, err = stopPerf(); err != nil {
			return nil, err
		}
	}
	return res, e.rejoin(n)
}

// rejoin lets the first n targets enter their rooms again.
func (e *burstEnv) rejoin(n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(e.clients))
	for c, lc := range e.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c * len(e.rooms); i < min(n, (c+1)*len(e.rooms)); i++ {
				r, _ := e.target(i)
				if err := lc.join(e.rooms[r]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	quiet(e.cr)
	select {
	case err := <-errs:
		return fmt.Errorf("an occupant could not enter again: %w", err)
	default:
		return nil
	}
}

// pin gives the server a core of its own and puts this process and
// muc-kick on the others (-pin), so that the server's work per kick is
// measured apart from what muc-kick and the load generator cost.
func (e *burstEnv) pin(o *options) {
	n := runtime.NumCPU()
	switch {
	case !o.pin:
		e.pinned = "not pinned (-pin=false)"
		return
	case n < 2:
		e.pinned = "not pinned (one CPU)"
		return
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		e.pinned = "not pinned (no taskset)"
		return
	}
	rest := "1-" + strconv.Itoa(n-1)
	if err := taskset(cpusOf{e.srvPid, "0"}, cpusOf{e.mk.Pid(), rest}, cpusOf{e.basePid(), rest}, cpusOf{os.Getpid(), rest}); err != nil {
		e.pinned = "not pinned (" + err.Error() + ")"
		return
	}
	e.rest = rest
	e.pinned = "server pinned to CPU 0 (taskset); muc-kick and the bench (load generator, occupants) to CPU " + rest
}

// cpusOf is a process (pid 0: none) and the CPUs it may run on.
type cpusOf struct {
	pid  int
	cpus string
}

// taskset pins each process to its CPUs, threads included.
func taskset(pins ...cpusOf) error {
	for _, p := range pins {
		if p.pid == 0 {
			continue
		}
		if out, err := exec.Command("taskset", "-a", "-p", "-c", p.cpus, strconv.Itoa(p.pid)).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// unpin lets this process run on every CPU again.
func unpin() {
	_ = taskset(cpusOf{os.Getpid(), "0-" + strconv.Itoa(runtime.NumCPU()-1)})
}

// postKick posts a kick to url and returns an error unless it is answered
// 200.
func postKick(c *http.Client, url, room, nick string) error {
	code, err := post(c, url, fmt.Appendf(nil, `{"nickname": %q, "muc": %q, "reason": %q}`, nick, room, kickReason))
	if err == nil && code != 200 {
		err = fmt.Errorf("HTTP %d", code)
	}
	return err
}

var progressStart = time.Now()

// progress says on stderr what the bench is doing, so that a long part
// shows how far it is.
func progress(format string, args ...any) {
	d := time.Since(progressStart).Round(time.Second)
	fmt.Fprintf(os.Stderr, "[%02d:%02d] "+format+"\n", append([]any{int(d.Minutes()), int(d.Seconds()) % 60}, args...)...)
}

// cpuTimeOf is the CPU time of every thread of process pid, summed from
// /proc/PID/task/*/schedstat, in nanoseconds where /proc/PID/stat counts
// 10 ms ticks (testkit.CPUTime, the fallback): a burst of 400 kicks costs
// muc-kick a few such ticks. A thread that ends between two readings takes
// its time with it; Prosody runs one thread and Go keeps its threads.
func cpuTimeOf(pid int) time.Duration {
	dirs, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return testkit.CPUTime(pid)
	}
	var sum time.Duration
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", d.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		sum += time.Duration(ns)
	}
	if sum == 0 {
		return testkit.CPUTime(pid)
	}
	return sum
}

func (e *burstEnv) basePid() int {
	if e.base == nil {
		return 0
	}
	return e.base.Pid()
}
