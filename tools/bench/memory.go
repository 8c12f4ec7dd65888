package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// memory is part 3: the resident memory of the muc-kick binary, idle, in
// many rooms, and with many kicks waiting for a server that does not answer;
// beside it, the same for tools/bench/holdserver, the floor net/http sets.
func memory(o *options) error {
	section("3. Memory of the daemon: the muc-kick binary as a subprocess, against a fake XMPP server in this process")
	tb := newTB(o)
	return tb.Run(func() error { return memoryRuns(tb, o) })
}

func memoryRuns(tb *testkit.Program, o *options) error {
	root, err := testkit.ModuleRoot()
	if err != nil {
		return err
	}
	bin, err := muckickBinary()
	if err != nil {
		return err
	}
	hold, err := holdBinary()
	if err != nil {
		return err
	}
	note("go build -trimpath of %s; iq_timeout 5m, linger 1h, log level info, read by the bench; VmRSS from /proc/PID/status, the", root)
	note("Go columns from the daemon's /metrics, read just after. Baseline: tools/bench/holdserver, httprouter on an http.Server")
	note("with muc-kick's timeouts that decodes the JSON and holds each request: what net/http alone costs per request held.")
	fmt.Println()

	tw := newTable()
	fmt.Fprintln(tw, "process\tstate\tVmRSS MB\tVmHWM MB\tthreads\tgoroutines\tGo heap in use MB\tGo stacks MB\tGo sys MB\ttarget < 30 MB\t")
	row := func(proc, state string, st testkit.Status, m map[string]float64) {
		col := func(k string, div float64, f string) string {
			if v, ok := m[k]; ok {
				return fmt.Sprintf(f, v/div)
			}
			return "-"
		}
		target := verdict(st.RSS < 30<<20)
		if proc != "muc-kick" {
			target = "(baseline)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", proc, state, mb(st.RSS), mb(st.HWM), st.Threads,
			col("go_goroutines", 1, "%.0f"), col("go_memstats_heap_inuse_bytes", 1<<20, "%.1f"),
			col("go_memstats_stack_inuse_bytes", 1<<20, "%.1f"), col("go_memstats_sys_bytes", 1<<20, "%.1f"), target)
	}
	defer tw.Flush()
	var rss struct{ idle, inflight, holdIdle, holdHeld int64 }

	// Idle: connected, nothing else.
	{
		p := startDaemonProcess(tb, bin)
		time.Sleep(time.Second)
		st, m := p.measure()
		rss.idle = st.RSS
		row("muc-kick", "idle, connected", st, m)
		p.stop()
	}

	// In memRooms rooms: one kick into each, each entering its room.
	{
		p := startDaemonProcess(tb, bin)
		c := newClient(64)
		sm := each(o.memRooms, 64, func(i int) error {
			code, err := post(c, p.URL()+"/muc_kick", fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s"}`, i, i, fakeMUC))
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
		p := startDaemonProcess(tb, bin)
		const rooms = 10
		body := func(i int) []byte {
			return fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s", "reason": "Access revoked"}`, i, i%rooms, fakeMUC)
		}
		c := newClient(o.memInFlight)
		for i := range rooms {
			if code, err := post(c, p.URL()+"/muc_kick", body(i)); err != nil || code != http.StatusOK {
				p.stop()
				return fmt.Errorf("entering room%d: HTTP %d, %v", i, code, err)
			}
		}
		p.fake.hold.Store(true)
		var st testkit.Status
		var m map[string]float64
		var held int64
		okMK = holdMany(c, p.URL(), o.memInFlight, func(i int) []byte { return body(rooms + i) }, func() int64 { return p.fake.held.Load() },
			func() { held = p.fake.held.Load(); st, m = p.measure() }, p.fake.Release)
		rss.inflight = st.RSS
		row("muc-kick", fmt.Sprintf("%d kicks in flight (held by the fake: %d)", o.memInFlight, held), st, m)
		p.stop()
	}

	// The baseline.
	{
		p := startHoldProcess(tb, hold)
		time.Sleep(time.Second)
		st, m := p.measure()
		rss.holdIdle = st.RSS
		row("holdserver", "idle", st, m)
		c := newClient(o.memInFlight)
		var held int64
		heldNow := func() int64 {
			_, b, _ := p.Get("/held")
			n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return n
		}
		okHold = holdMany(c, p.URL(), o.memInFlight, func(i int) []byte {
			return fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s", "reason": "Access revoked"}`, i, i%10, fakeMUC)
		}, heldNow, func() { held = heldNow(); st, m = p.measure() }, func() {
			if resp, err := http.Post(p.URL()+"/release", "", nil); err == nil {
				resp.Body.Close()
			}
		})
		rss.holdHeld = st.RSS
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
	*testkit.Process
	fake *fakeXMPP // nil for the baseline
}

// startDaemonProcess runs the muc-kick binary against a fake server of its
// own, and waits until it is ready.
func startDaemonProcess(tb *testkit.Program, bin string) *process {
	fake, err := startFake(fakeDomain, fakeSecret)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(fake.Close)
	listen := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(tb))
	cfg := filepath.Join(tb.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte(benchConfig(fake.Addr(), fakeDomain, fakeSecret, fakeMUC, listen, 5*time.Minute, time.Hour)), 0o600); err != nil {
		tb.Fatal(err)
	}
	return startProcess(tb, exec.Command(bin, "-config", cfg), "http://"+listen, fake)
}

func startHoldProcess(tb *testkit.Program, bin string) *process {
	listen := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(tb))
	return startProcess(tb, exec.Command(bin, listen), "http://"+listen, nil)
}

// startProcess starts cmd and waits until url/readyz answers 200.
func startProcess(tb *testkit.Program, cmd *exec.Cmd, url string, fake *fakeXMPP) *process {
	p := &process{Process: testkit.Start(tb, cmd, testkit.Options{URL: url}), fake: fake}
	p.WaitReady(tb, 20*time.Second)
	return p
}

// measure reads the process's memory, then its metrics.
func (p *process) measure() (testkit.Status, map[string]float64) {
	st, _ := p.ProcStatus()
	m, _ := p.Metrics()
	return st, m
}

func (p *process) stop() {
	p.Stop(15 * time.Second)
	if p.fake != nil {
		p.fake.Close()
	}
}
