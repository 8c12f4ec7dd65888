package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// memory is part 3: the resident memory of the muc-kick binary, idle, in
// many rooms, and with many kicks waiting for a server that does not answer;
// beside it, the same for internal/bench/holdserver, the floor net/http sets.
func memory(o *options) error {
	section("3. Memory of the daemon: the muc-kick binary as a subprocess, against a fake XMPP server in this process")
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "muc-kick-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, hold := filepath.Join(dir, "muc-kick"), filepath.Join(dir, "holdserver")
	for _, b := range [][]string{{bin, "."}, {hold, "./internal/bench/holdserver"}} {
		build := exec.Command("go", "build", "-trimpath", "-o", b[0], b[1])
		build.Dir = root
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b[1], err)
		}
	}
	note("go build -trimpath of %s; iq_timeout 5m, linger 1h, log level info to a file; VmRSS from /proc/PID/status, the", root)
	note("Go columns from the daemon's /metrics, read just after. Baseline: internal/bench/holdserver, httprouter on an http.Server")
	note("with muc-kick's timeouts that decodes the JSON and holds each request: what net/http alone costs per request held.")
	fmt.Println()

	tw := newTable()
	fmt.Fprintln(tw, "process\tstate\tVmRSS MB\tVmHWM MB\tthreads\tgoroutines\tGo heap in use MB\tGo stacks MB\tGo sys MB\ttarget < 30 MB\t")
	row := func(proc, state string, st procStatus, m map[string]float64) {
		col := func(k string, div float64, f string) string {
			if v, ok := m[k]; ok {
				return fmt.Sprintf(f, v/div)
			}
			return "-"
		}
		target := verdict(st.rss < 30<<20)
		if proc != "muc-kick" {
			target = "(baseline)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", proc, state, mb(st.rss), mb(st.hwm), st.threads,
			col("go_goroutines", 1, "%.0f"), col("go_memstats_heap_inuse_bytes", 1<<20, "%.1f"),
			col("go_memstats_stack_inuse_bytes", 1<<20, "%.1f"), col("go_memstats_sys_bytes", 1<<20, "%.1f"), target)
	}
	defer tw.Flush()
	var rss struct{ idle, inflight, holdIdle, holdHeld int64 }

	// Idle: connected, nothing else.
	{
		p, err := startDaemonProcess(bin, dir, "idle")
		if err != nil {
			return err
		}
		time.Sleep(time.Second)
		st, m := p.measure()
		rss.idle = st.rss
		row("muc-kick", "idle, connected", st, m)
		p.stop()
	}

	// In memRooms rooms: one kick into each, each entering its room.
	{
		p, err := startDaemonProcess(bin, dir, "rooms")
		if err != nil {
			return err
		}
		c := newClient(64)
		sm := each(o.memRooms, 64, func(i int) error {
			code, err := post(c, p.url+"/muc_kick", fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s"}`, i, i, fakeMUC))
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("HTTP %d", code)
			}
			return err
		})
		c.CloseIdleConnections()
		time.Sleep(time.Second)
		st, m := p.measure()
		row("muc-kick", fmt.Sprintf("in %d rooms (rooms entered: %.0f)", o.memRooms, m["muc_kick_rooms_entered"]), st, m)
		if sm.failures() > 0 {
			tw.Flush()
			note("failed kicks: %s", sm.failText())
		}
		p.stop()
	}

	// memInFlight kicks waiting: the fake holds every kick from inside a
	// room; the daemon is in 10 rooms already.
	var okMK, okHold int
	{
		p, err := startDaemonProcess(bin, dir, "inflight")
		if err != nil {
			return err
		}
		const rooms = 10
		body := func(i int) []byte {
			return fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s", "reason": "Access revoked"}`, i, i%rooms, fakeMUC)
		}
		c := newClient(o.memInFlight)
		for i := range rooms {
			if code, err := post(c, p.url+"/muc_kick", body(i)); err != nil || code != http.StatusOK {
				p.stop()
				return fmt.Errorf("entering room%d: HTTP %d, %v", i, code, err)
			}
		}
		p.fake.hold.Store(true)
		var st procStatus
		var m map[string]float64
		var held int64
		okMK = holdMany(c, p.url, o.memInFlight, func(i int) []byte { return body(rooms + i) }, func() int64 { return p.fake.held.Load() },
			func() { held = p.fake.held.Load(); st, m = p.measure() }, p.fake.Release)
		rss.inflight = st.rss
		row("muc-kick", fmt.Sprintf("%d kicks in flight (held by the fake: %d)", o.memInFlight, held), st, m)
		p.stop()
	}

	// The baseline.
	{
		p, err := startHoldProcess(hold, dir)
		if err != nil {
			return err
		}
		time.Sleep(time.Second)
		st, m := p.measure()
		rss.holdIdle = st.rss
		row("holdserver", "idle", st, m)
		c := newClient(o.memInFlight)
		var held int64
		heldNow := func() int64 {
			resp, err := http.Get(p.url + "/held")
			if err != nil {
				return 0
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return n
		}
		okHold = holdMany(c, p.url, o.memInFlight, func(i int) []byte {
			return fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s", "reason": "Access revoked"}`, i, i%10, fakeMUC)
		}, heldNow, func() { held = heldNow(); st, m = p.measure() }, func() {
			if resp, err := http.Post(p.url+"/release", "", nil); err == nil {
				resp.Body.Close()
			}
		})
		rss.holdHeld = st.rss
		row("holdserver", fmt.Sprintf("%d requests held (held: %d)", o.memInFlight, held), st, m)
		p.stop()
	}
	tw.Flush()
	fmt.Println()
	note("after release: %d of %d muc-kick kicks and %d of %d baseline requests answered 200", okMK, o.memInFlight, okHold, o.memInFlight)
	perMK := float64(rss.inflight-rss.idle) / float64(o.memInFlight) / 1024
	perHold := float64(rss.holdHeld-rss.holdIdle) / float64(o.memInFlight) / 1024
	note("RSS per request in flight: muc-kick %.1f KB, baseline %.1f KB: net/http's share is about %.0f%% of muc-kick's",
		perMK, perHold, 100*perHold/perMK)
	return nil
}

// holdMany sends n requests at once to url/muc_kick, waits until held()
// reaches n (or 60 s pass), lets things settle, calls measure, then release,
// and returns how many requests were answered 200.
func holdMany(c *http.Client, url string, n int, body func(i int) []byte, held func() int64, measure, release func()) int {
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = post(c, url+"/muc_kick", body(i))
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for held() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	measure()
	release()
	wg.Wait()
	ok := 0
	for _, code := range codes {
		if code == http.StatusOK {
			ok++
		}
	}
	c.CloseIdleConnections()
	return ok
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// process is a server the benchmark runs as a subprocess.
type process struct {
	cmd  *exec.Cmd
	fake *fakeXMPP // nil for the baseline
	url  string
	log  string
	done chan struct{}
}

// startDaemonProcess runs the muc-kick binary against a fake server of its
// own.
func startDaemonProcess(bin, dir, name string) (*process, error) {
	fake, err := startFake(fakeDomain, fakeSecret)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		fake.Close()
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cfg := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(benchConfig(fake.Addr(), fakeDomain, fakeSecret, fakeMUC, listen, 5*time.Minute, time.Hour)), 0o600); err != nil {
		fake.Close()
		return nil, err
	}
	p, err := startProcess(exec.Command(bin, "-config", cfg), "http://"+listen, filepath.Join(dir, name+".log"))
	if err != nil {
		fake.Close()
		return nil, err
	}
	p.fake = fake
	return p, nil
}

func startHoldProcess(bin, dir string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	return startProcess(exec.Command(bin, listen), "http://"+listen, filepath.Join(dir, "holdserver.log"))
}

// startProcess starts cmd and waits until url/readyz answers 200.
func startProcess(cmd *exec.Cmd, url, logPath string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, url: url, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited at start: %s", filepath.Base(cmd.Path), tail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready within 20s: %s", filepath.Base(cmd.Path), tail(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// measure reads the process's memory, then its metrics.
func (p *process) measure() (procStatus, map[string]float64) {
	st := readStatus(p.cmd.Process.Pid)
	return st, scrape(p.url + "/metrics")
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if p.fake != nil {
		p.fake.Close()
	}
}

type procStatus struct {
	rss, hwm int64
	threads  int
}

func readStatus(pid int) procStatus {
	var st procStatus
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st
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
			st.rss = n << 10
		case "VmHWM":
			st.hwm = n << 10
		case "Threads":
			st.threads = int(n)
		}
	}
	return st
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(url string) map[string]float64 {
	m := map[string]float64{}
	resp, err := http.Get(url)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
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
	_, _ = io.Copy(io.Discard, resp.Body)
	return m
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// moduleRoot finds the directory of muc-kick's go.mod, from the working
// directory up.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/muc-kick/muc-kick\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("run the benchmark inside the muc-kick repository (go.mod not found)")
		}
	}
}
