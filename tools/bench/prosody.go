package main

import (
	"fmt"
	"os/exec"
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

// againstProsody is part 2.
func againstProsody(o *options) error {
	rounds := o.roundsOr(5, 2)
	R, K := o.rooms, o.occupants
	section("2. Against a real Prosody: %d rooms × %d real occupants, each kicked once per run, 1 and %d kicks in flight", R, K, o.concurrency)
	if _, err := exec.LookPath("prosody"); err != nil {
		note("skipped: prosody is not installed (make deps)")
		return nil
	}
	tb := newTB(o)
	return tb.Run(func() error { return prosodyRuns(tb, o, R, K, rounds) })
}

func prosodyRuns(tb *testkit.Program, o *options, R, K, rounds int) error {
	begin := time.Now()
	srv := xmpptest.StartProsody(tb)
	if o.prosodyNoDelay {
		// Prosody keeps Nagle's algorithm on by default; restart it with
		// network_settings.nagle = false (a global, before the first host).
		if err := restartWith(srv, "prosody.cfg.lua", "-- Test-only global settings.\n", "network_settings = { nagle = false }\n"); err != nil {
			return err
		}
	}
	s := &roomSetup{srv: srv, occ: make([][]*xmpptest.Occupant, R)}
	for r := range R {
		s.rooms = append(s.rooms, fmt.Sprintf("bench%d@%s", r, srv.MUCDomain))
		s.occ[r] = make([]*xmpptest.Occupant, K)
	}
	// The direct moderator enters first, creating each room, so that it owns
	// it: Prosody lets an owner kick, from inside the room.
	mod := xmpptest.Connect(tb, srv)
	for _, room := range s.rooms {
		if _, err := mod.Join(room, "moderator"); err != nil {
			return fmt.Errorf("direct client entering %s: %w", room, err)
		}
	}
	logf, err := tempLog(tb)
	if err != nil {
		return err
	}
	d, err := startInproc(benchConfig(srv.ComponentAddr, srv.ComponentDomain, srv.Secret, srv.MUCDomain, "127.0.0.1:0", 10*time.Second, time.Hour), logf)
	if err != nil {
		return err
	}
	tb.Cleanup(d.stop)
	if !d.waitConnected(10 * time.Second) {
		return fmt.Errorf("muc-kick did not connect to Prosody")
	}
	for range K {
		s.clients = append(s.clients, xmpptest.Connect(tb, srv))
	}
	all := func(r, k int) bool { return true }
	if errs := s.join(all); len(errs) > 0 {
		return fmt.Errorf("%d occupants could not enter: %v", len(errs), errs[0])
	}
	nagle := "on (Prosody's default)"
	if o.prosodyNoDelay {
		nagle = "off (-prosody-nodelay)"
	}
	note("setup: Prosody %s, Nagle %s, %d rooms created by the direct moderator client, %d occupant connections each in every room; ready in %s",
		srv.Version, nagle, R, K, time.Since(begin).Round(time.Millisecond))
	note("muc-kick (wired as main.go serves, in this process, linger 1h) kicks over HTTP; \"direct\" is one c2s client, owner and")
	note("moderator of every room, sending the same muc#admin IQ itself. Both pipeline up to %d kicks on their one stream. Both stay in", o.concurrency)
	note("every room throughout, so the rooms are the same in every run. A kick is done at its HTTP 200 / IQ result.")

	hc := newClient(o.concurrency)
	mkKick := func(r, k int) error { return d.kick(hc, s.rooms[r], nickOf(k)) }
	directKick := func(r, k int) error { return mod.Kick(s.rooms[r], nickOf(k), kickReason) }

	tw := newTable()
	fmt.Println()
	fmt.Fprintln(tw, "run\tkicks\tkicks/s\tp50 ms\tp99 ms\tmax ms\tProsody CPU ms/kick\tbench process CPU ms/kick\t307 missing\tfailed\t")
	row := func(name string, sm *sample, missing int) {
		m := "-"
		if missing >= 0 {
			m = strconv.Itoa(missing)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%.2f\t%.2f\t%s\t%s\t\n", name, sm.n, sm.rate(), ms(sm.pct(.5)), ms(sm.pct(.99)), ms(sm.max()),
			perK(sm.serverCPU, sm.n)/1000, perK(sm.cpu, sm.n)/1000, m, sm.failText())
	}
	ppid := srv.Pid()
	measured := func(n, conc int, job func(i int) error) *sample {
		c0 := testkit.CPUTime(ppid)
		sm := each(n, conc, job)
		sm.serverCPU = testkit.CPUTime(ppid) - c0
		return sm
	}
	var misses []string

	// Cold: the first kick into each room, one at a time: refused from the
	// bare JID, then muc-kick enters the room and kicks again.
	first := func(r, k int) bool { return k == 0 }
	cold := measured(R, 1, func(r int) error { return mkKick(r, 0) })
	m := s.verify(first)
	misses = append(misses, m...)
	row("cold: first kick into each room, c=1", cold, len(m))
	if e := d.mgr.Entries(); e != uint64(R) {
		note("WARNING: muc-kick entered rooms %d times in the cold run, expected %d", e, R)
	}
	if errs := s.join(first); len(errs) > 0 {
		tw.Flush()
		return fmt.Errorf("%d occupants could not enter again: %v", len(errs), errs[0])
	}

	type key struct {
		mode string
		conc int
	}
	concs := []int{1}
	if o.concurrency != 1 {
		concs = append(concs, o.concurrency)
	}
	total := map[key]*sample{}
	n := R * K
	checked := R
	pairs := map[int][]float64{}
	// Round 0 warms Prosody up (the first run after the setup's joins is
	// slow whichever mode it is) and is not counted. Then each round runs
	// both modes at each concurrency, alternating which goes first.
	for round := 0; round <= rounds; round++ {
		runConcs := concs
		if round == 0 {
			runConcs = []int{o.concurrency}
		}
		for _, conc := range runConcs {
			modes := []string{"muc-kick", "direct"}
			if round%2 == 0 {
				modes[0], modes[1] = modes[1], modes[0]
			}
			rate := map[string]float64{}
			for _, mode := range modes {
				kick := mkKick
				if mode == "direct" {
					kick = directKick
				}
				sm := measured(n, conc, func(i int) error { return kick(s.target(i)) })
				m := s.verify(all)
				misses = append(misses, m...)
				checked += n
				if round == 0 {
					row(fmt.Sprintf("warm-up, not counted: %s c=%d", mode, conc), sm, len(m))
				} else {
					row(fmt.Sprintf("%s c=%d #%d", mode, conc, round), sm, len(m))
					k := key{mode, conc}
					if total[k] == nil {
						total[k] = &sample{}
					}
					total[k].merge(sm)
					rate[mode] = sm.rate()
				}
				if errs := s.join(all); len(errs) > 0 {
					tw.Flush()
					return fmt.Errorf("%d occupants could not enter again: %v", len(errs), errs[0])
				}
			}
			if round > 0 {
				pairs[conc] = append(pairs[conc], rate["muc-kick"]/rate["direct"])
			}
		}
	}
	for _, conc := range concs {
		row(fmt.Sprintf("muc-kick c=%d, all runs", conc), total[key{"muc-kick", conc}], -1)
		row(fmt.Sprintf("direct c=%d, all runs", conc), total[key{"direct", conc}], -1)
	}
	tw.Flush()
	fmt.Println()
	for _, conc := range concs {
		mk, direct := total[key{"muc-kick", conc}], total[key{"direct", conc}]
		r := mk.rate() / direct.rate()
		dp := mk.pct(.5) - direct.pct(.5)
		p := pairs[conc]
		slices.Sort(p)
		note("c=%-2d muc-kick kicks/s ÷ direct kicks/s = %.2f (median of %d paired runs %.2f; target ≥ 0.9: %s); p50 muc-kick − direct = %+.2f ms (target ≤ 2 ms: %s)",
			conc, r, len(p), p[len(p)/2], verdict(r >= 0.9), float64(dp)/float64(time.Millisecond), verdict(dp <= 2*time.Millisecond))
	}
	warm := total[key{"muc-kick", 1}]
	note("cold kick p50 %s ms (max %s) vs warm muc-kick p50 at c=1 %s ms: entering a room costs about %s ms, once per room per linger",
		ms(cold.pct(.5)), ms(cold.max()), ms(warm.pct(.5)), ms(cold.pct(.5)-warm.pct(.5)))
	if e := d.mgr.Entries(); e != uint64(R) {
		note("WARNING: muc-kick entered rooms %d times in all, expected %d", e, R)
	}
	if len(misses) == 0 {
		note("every kicked occupant received its status-307 presence (%d checked)", checked)
	} else {
		note("MISSING status-307 presences: %d of %d, first: %s", len(misses), checked, misses[0])
	}
	return nil
}
