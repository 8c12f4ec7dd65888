package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

const (
	fakeDomain = "kick.bench"
	fakeMUC    = "conference.bench"
	fakeSecret = "bench-secret"
)

// kickBodies are n distinct request bodies spread over rooms rooms.
func kickBodies(n, rooms int) [][]byte {
	b := make([][]byte, n)
	for i := range b {
		b[i] = fmt.Appendf(nil, `{"nickname": "user%d", "muc": "room%d@%s", "reason": "Access revoked"}`, i, i%rooms, fakeMUC)
	}
	return b
}

// ceiling is part 1: the daemon's own ceiling against a fake server that
// answers at once, next to a bare httprouter handler.
func ceiling(o *options) error {
	rounds := o.roundsOr(2, 1)
	const rooms = 16
	const sliceLen = 500 * time.Millisecond
	nSlices := max(1, int(time.Duration(rounds)*o.duration/sliceLen))
	section("1. Ceiling of the daemon: muc-kick's HTTP handler + component against an in-process fake XMPP server")

	fake, err := startFake(fakeDomain, fakeSecret)
	if err != nil {
		return err
	}
	defer fake.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	d, err := startInproc(benchConfig(fake.Addr(), fakeDomain, fakeSecret, fakeMUC, "127.0.0.1:0", 10*time.Second, time.Hour), devnull)
	if err != nil {
		return err
	}
	defer d.stop()
	if !d.waitConnected(10 * time.Second) {
		return fmt.Errorf("muc-kick did not connect to the fake server")
	}
	bareURL, stopBare, err := startBare()
	if err != nil {
		return err
	}
	defer stopBare()
	mkURL := d.URL + "/muc_kick"
	bareURL += "/muc_kick"

	bodies := kickBodies(4096, rooms)
	// Enter every room once: the fake refuses the kick from the bare
	// component JID (not-allowed, as Prosody and ejabberd do), answers the
	// entry with a moderator's self-presence, and answers kicks from the
	// room at once. With linger 1h the daemon then stays in the rooms, so
	// every measured kick is a warm one, straight from the occupant JID.
	warmClient := newClient(1)
	for i := range rooms {
		code, err := post(warmClient, mkURL, bodies[i])
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("warm-up kick into room%d: HTTP %d, %v", i, code, err)
		}
	}
	entries := d.mgr.Entries()
	note("setup: %d rooms, entered once during warm-up (cold kick = bare-JID kick refused, entry, kick again), linger 1h;", rooms)
	note("measured kicks are warm: one IQ from the occupant JID, answered at once. Logging at info to %s (a line per kick).", os.DevNull)
	note("%s per server and concurrency, in %d alternating slices of %s; CPU and allocations are the whole process (load generator,",
		time.Duration(nSlices)*sliceLen, nSlices, sliceLen)
	note("fake server and server under test); the muc-kick − bare row is what muc-kick adds over bare HTTP+JSON.")
	fmt.Println()

	tw := newTable()
	fmt.Fprintln(tw, "conc\tserver\tkicks/s\tp50 ms\tp99 ms\tmax ms\tCPU ms/1000 kicks\tallocs/kick\tKB alloc/kick\tfailed\t")
	type ratio struct {
		conc               int
		total, median, cpu float64
	}
	var ratios []ratio
	clients := map[string]*http.Client{"muc-kick": newClient(256), "bare": newClient(256)}
	for _, conc := range []int{1, 16, 256} {
		urls := []struct{ name, url string }{{"muc-kick", mkURL}, {"bare", bareURL}}
		for _, u := range urls { // warm up: connections, buffers, pools
			hammer(clients[u.name], u.url, bodies, conc, min(o.duration/3, 500*time.Millisecond))
		}
		// Short slices, alternating (and alternating which goes first), so
		// that both servers see the same background load of the machine.
		total := map[string]*sample{"muc-kick": {}, "bare": {}}
		var pairs []float64
		for i := range nSlices {
			var rate [2]float64
			for j := range urls {
				if i%2 == 1 {
					j = 1 - j
				}
				s := hammer(clients[urls[j].name], urls[j].url, bodies, conc, sliceLen)
				rate[j] = s.rate()
				total[urls[j].name].merge(s)
			}
			pairs = append(pairs, rate[0]/rate[1])
		}
		for _, u := range urls {
			s := total[u.name]
			fmt.Fprintf(tw, "%d\t%s\t%.0f\t%s\t%s\t%s\t%.0f\t%.1f\t%.1f\t%s\t\n", conc, u.name, s.rate(), ms(s.pct(.5)), ms(s.pct(.99)), ms(s.max()),
				perK(s.cpu, s.n), float64(s.mallocs)/float64(max(1, s.n)), float64(s.allocMem)/1024/float64(max(1, s.n)), s.failText())
		}
		mk, bare := total["muc-kick"], total["bare"]
		fmt.Fprintf(tw, "%d\tmuc-kick − bare\t\t\t\t\t%+.0f\t%+.1f\t%+.1f\t\t\n", conc,
			perK(mk.cpu, mk.n)-perK(bare.cpu, bare.n),
			float64(mk.mallocs)/float64(max(1, mk.n))-float64(bare.mallocs)/float64(max(1, bare.n)),
			(float64(mk.allocMem)/float64(max(1, mk.n))-float64(bare.allocMem)/float64(max(1, bare.n)))/1024)
		slices.Sort(pairs)
		ratios = append(ratios, ratio{conc: conc, total: mk.rate() / bare.rate(), median: pairs[len(pairs)/2],
			cpu: perK(bare.cpu, bare.n) / perK(mk.cpu, mk.n)})
	}
	tw.Flush()
	fmt.Println()
	for _, r := range ratios {
		note("c=%-3d muc-kick kicks/s ÷ bare kicks/s = %.2f (median of paired slices %.2f; bare CPU/kick ÷ muc-kick CPU/kick %.2f)   target ≥ 0.5: %s",
			r.conc, r.total, r.median, r.cpu, verdict(r.total >= 0.5))
	}
	if allocs, kb, us, err := handlerOnly(d.handler, bodies); err != nil {
		note("handler called directly: %v", err)
	} else {
		note("muc-kick's handler called directly (ServeHTTP with a recorder, no HTTP; c=1, warm, same fake): %.0f allocs/kick,", allocs)
		note("%.1f KB/kick, %.1f µs/kick round trip: what muc-kick's own code allocates per kick, HTTP server excluded", kb, us)
	}
	if e := d.mgr.Entries(); e != entries {
		note("WARNING: muc-kick entered rooms %d times during the measurement (expected 0): not all kicks were warm", e-entries)
	}
	note("the fake saw, warm-up included: %s", fake)

	if o.cpuprofile != "" || o.memprofile != "" {
		if err := profileCeiling(o, clients["muc-kick"], mkURL, bodies); err != nil {
			return err
		}
	}
	return nil
}

// perK is CPU milliseconds per 1000 kicks.
func perK(cpu time.Duration, n int) float64 {
	return float64(cpu) / float64(time.Millisecond) * 1000 / float64(max(1, n))
}

// profileCeiling runs muc-kick alone at each concurrency under the CPU
// profiler and writes the allocation profile, for the -cpuprofile and
// -memprofile flags.
func profileCeiling(o *options, c *http.Client, url string, bodies [][]byte) error {
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	n := 0
	for _, conc := range []int{1, 16, 256} {
		n += hammer(c, url, bodies, conc, o.duration).n
	}
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
		note("CPU profile of %d more muc-kick kicks (c=1, 16, 256; %s each) written to %s", n, o.duration, o.cpuprofile)
	}
	if o.memprofile != "" {
		f, err := os.Create(o.memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
		note("allocation profile written to %s (go tool pprof -sample_index=alloc_objects)", o.memprofile)
	}
	return nil
}

// handlerOnly measures muc-kick's HTTP handler called directly, one kick at
// a time, with testing.Benchmark: allocations and bytes per kick beyond
// building the request and recorder (measured on their own and
// subtracted), and the time per kick, a round trip to the fake included.
func handlerOnly(h http.Handler, bodies [][]byte) (allocs, kb, us float64, err error) {
	build := func(i int) (*http.Request, *httptest.ResponseRecorder) {
		req := httptest.NewRequest(http.MethodPost, "/muc_kick", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Authorization", authz)
		return req, httptest.NewRecorder()
	}
	base := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			build(i)
		}
	})
	var failed atomic.Int64
	full := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			req, w := build(i)
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	if failed.Load() > 0 {
		return 0, 0, 0, fmt.Errorf("%d kicks failed", failed.Load())
	}
	perOp := func(r testing.BenchmarkResult, v uint64) float64 { return float64(v) / float64(max(1, r.N)) }
	allocs = perOp(full, full.MemAllocs) - perOp(base, base.MemAllocs)
	kb = (perOp(full, full.MemBytes) - perOp(base, base.MemBytes)) / 1024
	us = float64(full.NsPerOp()) / 1000
	return allocs, kb, us, nil
}
