package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

const kickReason = "Access revoked"

// roomSetup is R rooms × K real occupants on a Prosody.
type roomSetup struct {
	srv     *xmpptest.Server
	rooms   []string
	clients []*xmpptest.Client // client k is occupant "user<k>" of every room
	occ     [][]*xmpptest.Occupant
}

func nickOf(k int) string { return fmt.Sprintf("user%d", k) }

// target is the room and nick of kick number i of a run: it goes round the
// rooms, so that concurrent kicks spread over them.
func (s *roomSetup) target(i int) (r, k int) { return i % len(s.rooms), i / len(s.rooms) }

// join enters the occupants (r, k) for which want is true, each client
// joining its rooms in turn and the clients in parallel; it returns the
// failures.
func (s *roomSetup) join(want func(r, k int) bool) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for k, c := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r, room := range s.rooms {
				if !want(r, k) {
					continue
				}
				o, err := c.Join(room, nickOf(k))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					s.occ[r][k] = o
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond) // let the last presence broadcasts drain
	return errs
}

// verify checks that the occupants (r, k) for which want is true received
// their status-307 presence, and returns the misses.
func (s *roomSetup) verify(want func(r, k int) bool) []string {
	var misses []string
	for r := range s.rooms {
		for k := range s.clients {
			if !want(r, k) {
				continue
			}
			if _, _, err := s.occ[r][k].WaitKicked(10 * time.Second); err != nil {
				misses = append(misses, err.Error())
			}
		}
	}
	return misses
}

// againstProsody is part 2: the burst of the issue that compared muc-kick
// with mod_http_muc_kick, on each Prosody installed: R rooms × K real
// occupants, every occupant kicked once per run at -concurrency in flight,
// by muc-kick, the direct client and (with MUC_KICK_BENCH_MODULE) the
// module in turn, for -rounds rounds whose order rotates.
func againstProsody(o *options) error {
	rounds := o.roundsOr(5, 2)
	R, K := o.rooms, o.occupants
	section("2. Bursts on a real Prosody: %d rooms × %d real occupants, each kicked once per run, %d in flight, %d rounds", R, K, o.concurrency, rounds)
	modPath, why := modulePath()
	if modPath == "" {
		note("module baseline: not run (%s; see docs/performance.md for where mod_http_muc_kick is published)", why)
	}
	code := 0
	for _, inst := range xmpptest.Installs() {
		if inst.Family != "prosody" {
			continue
		}
		tb := newTB(o)
		err := tb.Run(func() error { return burstOn(tb, o, inst, R, K, rounds, modPath) })
		unpin()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: part 2 on %s: %v\n", inst.Name(), err)
			code = 1
		}
	}
	if code != 0 {
		return fmt.Errorf("see above")
	}
	return nil
}

func burstOn(tb *testkit.Program, o *options, inst xmpptest.Install, R, K, rounds int, modPath string) error {
	begin := time.Now()
	progress("part 2, %s: setting up %d rooms × %d occupants", inst.Name(), R, K)
	profile := ""
	if o.cpuprofile != "" {
		profile = o.cpuprofile + "-" + inst.Name()
	}
	e, err := startBurstEnv(tb, o, inst, R, K, modPath, profile)
	if err != nil {
		return err
	}
	if err := e.startBare(tb); err != nil {
		return err
	}
	e.perfStat = o.perfStat
	e.profileStart()
	note("")
	note("%s: ready in %s; %s", e.srv.Name(), time.Since(begin).Round(time.Second), e.pinned)
	n := R * K
	total := map[string]*burstResult{}
	ratios := map[string][]float64{} // "throughput ÷ direct" etc., one per round
	tw := newTable()
	fmt.Fprintln(tw, "round\tkicker\tkicks\tkicks/s\tp50 ms\tp99 ms\tProsody CPU ms/kick\tmuc-kick CPU ms/kick\t307 missing\tfailed\t")
	row := func(round string, r *burstResult, name string) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t%.3f\t%.3f\t%d\t%s\t\n", round, name, r.n, r.rate(), ms(r.pct(.5)), ms(r.pct(.99)),
			r.serverPerKick(), r.mkPerKick(), r.missing, r.failText())
	}
	// Round 0 warms the server up and is not counted.
	for round := 0; round <= rounds; round++ {
		ks := rotate(e.kickers, round)
		got := map[string]*burstResult{}
		for _, k := range ks {
			progress("part 2, %s: round %d of %d, %s", inst.Name(), round, rounds, k.name)
			r, err := e.run(k, n, o.concurrency)
			if err != nil {
				tw.Flush()
				return err
			}
			got[k.name] = r
			label := strconv.Itoa(round)
			if round == 0 {
				label = "warm-up"
			} else if total[k.name] == nil {
				total[k.name] = &burstResult{sample: &sample{}}
			}
			if round > 0 {
				total[k.name].add(r)
			}
			row(label, r, k.name)
		}
		e.floorRuns(inst.Name(), round, rounds, n, o.concurrency, got["muc-kick"], total, row)
		if round > 0 {
			if b := got["muc-kick@"+o.baselineRev]; b != nil {
				ratios["own CPU ÷ rev"] = append(ratios["own CPU ÷ rev"], got["muc-kick"].mkPerKick()/b.mkPerKick())
				ratios["kicks/s ÷ rev"] = append(ratios["kicks/s ÷ rev"], got["muc-kick"].rate()/b.rate())
				ratios["Prosody CPU ÷ rev"] = append(ratios["Prosody CPU ÷ rev"], got["muc-kick"].serverPerKick()/b.serverPerKick())
			}
			if m, d := got["module"], got["direct"]; m != nil {
				ratios["direct kicks/s ÷ module"] = append(ratios["direct kicks/s ÷ module"], d.rate()/m.rate())
				ratios["direct Prosody CPU ÷ module"] = append(ratios["direct Prosody CPU ÷ module"], d.serverPerKick()/m.serverPerKick())
			}
			for _, base := range []string{"direct", "module"} {
				if b := got[base]; b != nil {
					ratios["kicks/s ÷ "+base] = append(ratios["kicks/s ÷ "+base], got["muc-kick"].rate()/b.rate())
					ratios["Prosody CPU ÷ "+base] = append(ratios["Prosody CPU ÷ "+base], got["muc-kick"].serverPerKick()/b.serverPerKick())
				}
			}
		}
	}
	e.profileStop()
	for _, k := range e.kickers {
		row("all", total[k.name], k.name)
	}
	for _, name := range bareNames {
		row("all", total[name], name)
	}
	tw.Flush()
	if profile != "" {
		note("%s: CPU profile of the muc-kick process over the counted rounds (all kickers' runs and the re-entries) written to %s", inst.Name(), profile)
	}
	fmt.Println()
	mk := total["muc-kick"]
	note("%s: muc-kick's own CPU per kick %.3f ms (target ≤ 0.1: %s); idle in the rooms while the others kicked: %.3f ms per kick",
		e.srv.Name(), mk.mkPerKick(), verdict(mk.mkPerKick() <= 0.1), idleShare(total))
	floorNote(e.srv.Name(), total)
	if p := mk.perf; p.syscalls > 0 {
		note("%s: perf stat of muc-kick's runs: %.1f system calls and %.1f context switches per kick (perf's tracing adds to the CPU above)",
			e.srv.Name(), float64(p.syscalls)/float64(mk.n), float64(p.switches)/float64(mk.n))
	}
	if rev := "muc-kick@" + o.baselineRev; total[rev] != nil {
		note("%s: %s's own CPU per kick %.3f ms; today's ÷ %s: own CPU per kick %s; kicks/s %s; Prosody CPU per kick %s",
			e.srv.Name(), rev, total[rev].mkPerKick(), rev, spread(ratios["own CPU ÷ rev"]), spread(ratios["kicks/s ÷ rev"]), spread(ratios["Prosody CPU ÷ rev"]))
	}
	for _, base := range []string{"direct", "module"} {
		if total[base] == nil {
			continue
		}
		tp, cpu := ratios["kicks/s ÷ "+base], ratios["Prosody CPU ÷ "+base]
		target := ""
		switch base {
		case "module":
			target = fmt.Sprintf(" (targets ≥ 0.8: %s; ≤ 1.25: %s)", verdict(median(tp) >= 0.8), verdict(median(cpu) <= 1.25))
		case "direct":
			if total["module"] == nil {
				target = fmt.Sprintf(" (target ≥ 0.95: %s)", verdict(median(tp) >= 0.95))
			}
		}
		note("%s: muc-kick ÷ %s: kicks/s %s; Prosody CPU per kick %s%s", e.srv.Name(), base, spread(tp), spread(cpu), target)
	}
	if d := ratios["direct kicks/s ÷ module"]; d != nil {
		note("%s: direct ÷ module (the cost of a kick that reaches Prosody as an IQ on a stream, whoever sends it): kicks/s %s; Prosody CPU per kick %s",
			e.srv.Name(), spread(d), spread(ratios["direct Prosody CPU ÷ module"]))
	}
	missing := 0
	for _, t := range total {
		missing += t.missing
	}
	note("%s: %d kicks checked in the occupants' streams, %d status-307 presences missing", e.srv.Name(), (rounds+1)*n*len(e.kickers), missing)
	return nil
}

// idleShare is muc-kick's CPU per kick of the other kickers: what the
// broadcasts it receives as an occupant cost it.
func idleShare(total map[string]*burstResult) float64 {
	var cpu time.Duration
	n := 0
	for name, t := range total {
		if name == "direct" || name == "module" {
			cpu += t.mkCPU
			n += t.n
		}
	}
	return perK(cpu, n) / 1000
}

// rotate returns ks turned left by i, so that each kicker goes first in
// turn.
func rotate(ks []kicker, i int) []kicker {
	i %= len(ks)
	return append(slices.Clone(ks[i:]), ks[:i]...)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is "median m (min–max over n rounds)".
func spread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (median of %d rounds; min %.2f, max %.2f)", median(v), len(v), slices.Min(v), slices.Max(v))
}
