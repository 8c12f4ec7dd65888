package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// The operations of part 5, in the order each round runs them.
const (
	opKick    = "kick"
	opMute    = "mute+unmute"
	opRetract = "retract by id"
)

var modOps = []string{opKick, opMute, opRetract}

// archiveText says what each -mod-archive does.
var archiveText = map[string]string{
	"memory":   "the rooms' archives in memory (-mod-archive memory: storage = { muc_log = \"memory\" })",
	"internal": "the rooms' archives in Prosody's default storage (-mod-archive internal: a file per room, read and rewritten by each retraction)",
}

// checkWait bounds the wait for the effects of one run's requests, all of
// them together.
const checkWait = 10 * time.Second

// modBench is the setup of part 5: rooms × real occupants on a Prosody with
// retraction on, a direct moderator client that created the rooms (their
// owner), and muc-kick warm in them.
type modBench struct {
	s    *roomSetup
	mod  *xmpptest.Client
	d    *inproc
	hc   *http.Client
	ns   string // the XEP-0425 version the direct client retracts with
	pid  int    // Prosody's
	said int    // messages said into each room so far
}

// outcome is what a run's checks found: how many answered requests had
// their effect looked for in an occupant's stream, and those not seen.
type outcome struct {
	checked int
	unseen  []string
}

func (o *outcome) add(p outcome) {
	o.checked += p.checked
	o.unseen = append(o.unseen, p.unseen...)
}

// moderation is part 5: kick, mute then unmute, and retract by id on the
// newest Prosody with retraction on (mod_muc_mam and mod_muc_moderation),
// through muc-kick's HTTP API and, alternating, by the direct moderator
// client sending the same stanza itself, at 1 and -mod-concurrency requests
// in flight. Every answered request's effect is looked for as an occupant
// sees it: the kicked occupant's status 307, the muted occupant's role
// change (tagged with the run's reason), the retraction received by the
// message's author.
func moderation(o *options) error {
	rounds := o.roundsOr(5, 2)
	section("5. Moderation on a real Prosody with retraction: %d rooms × %d real occupants; %s, each once per occupant per run; 1 and %d in flight",
		o.modRooms, o.modOccupants, strings.Join(modOps, ", "), o.modConcurrency)
	inst, ok := newestInstall("prosody")
	if !ok {
		note("skipped: prosody is not installed (make deps)")
		return nil
	}
	tb := newTB(o)
	return tb.Run(func() error {
		begin := time.Now()
		b, err := setupModeration(tb, o, inst)
		if err != nil {
			return err
		}
		note("setup: Prosody %s with contrib/prosody/retraction.cfg.lua and %s;", b.s.srv.Version, archiveText[o.modArchive])
		note("rooms created by the direct moderator client, %d occupant connections each in every room, muc-kick (in this process,", o.modOccupants)
		note("linger 1h) entered every room with one kick; ready in %s", time.Since(begin).Round(time.Millisecond))
		note("\"direct\" is one c2s client, owner and moderator of every room, sending the same IQ itself: muc#admin role none")
		note("(kick), visitor then participant (mute, unmute), XEP-0425 %s (retract; muc-kick picks the same from", b.ns)
		note("the room's disco#info). Both pipeline up to the run's requests in flight on their one stream. A request is done at its")
		note("HTTP 200 / IQ result. Each run's order alternates between the two; round 0 warms up and is not counted.")
		return b.measure(o, rounds)
	})
}

// setupModeration starts Prosody with retraction, the direct moderator
// client, muc-kick and the occupants, and lets muc-kick enter every room.
func setupModeration(tb *testkit.Program, o *options, inst xmpptest.Install) (*modBench, error) {
	R, K := o.modRooms, o.modOccupants
	srv := inst.StartWith(tb, xmpptest.Options{Retraction: true})
	if o.modArchive == "memory" {
		// A global setting, before the first host.
		if err := restartWith(srv, "prosody.cfg.lua", "-- Test-only global settings.\n", "storage = { muc_log = \"memory\" }\n"); err != nil {
			return nil, err
		}
	}
	s := &roomSetup{srv: srv, occ: make([][]*xmpptest.Occupant, R)}
	for r := range R {
		s.rooms = append(s.rooms, fmt.Sprintf("mod%d@%s", r, srv.MUCDomain))
		s.occ[r] = make([]*xmpptest.Occupant, K)
	}
	b := &modBench{s: s, mod: xmpptest.Connect(tb, srv), pid: srv.Pid()}
	for _, room := range s.rooms {
		if _, err := b.mod.Join(room, "moderator"); err != nil {
			return nil, fmt.Errorf("direct client entering %s: %w", room, err)
		}
	}
	features, err := b.mod.Features(s.rooms[0])
	if err != nil {
		return nil, fmt.Errorf("disco#info of %s: %w", s.rooms[0], err)
	}
	for _, ns := range []string{xmpptest.NSModerate1, xmpptest.NSModerate0} {
		if slices.Contains(features, ns) {
			b.ns = ns
			break
		}
	}
	if b.ns == "" {
		return nil, fmt.Errorf("%s advertises no XEP-0425 (message-moderate): is prosody-modules' mod_muc_moderation installed?", s.rooms[0])
	}
	logf, err := tempLog(tb)
	if err != nil {
		return nil, err
	}
	b.d, err = startInproc(benchConfig(srv.ComponentAddr, srv.ComponentDomain, srv.Secret, srv.MUCDomain, "127.0.0.1:0", 10*time.Second, time.Hour), logf)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(b.d.stop)
	if !b.d.waitConnected(10 * time.Second) {
		return nil, fmt.Errorf("muc-kick did not connect to Prosody")
	}
	for range K {
		s.clients = append(s.clients, xmpptest.Connect(tb, srv))
	}
	if errs := s.join(func(r, k int) bool { return true }); len(errs) > 0 {
		return nil, fmt.Errorf("%d occupants could not enter: %v", len(errs), errs[0])
	}
	// muc-kick enters each room with its first kick there, and stays.
	b.hc = newClient(o.modConcurrency)
	first := func(r, k int) bool { return k == 0 }
	for _, room := range s.rooms {
		if err := b.d.kick(b.hc, room, nickOf(0)); err != nil {
			return nil, fmt.Errorf("muc-kick's first kick into %s: %w", room, err)
		}
	}
	if m := s.verify(first); len(m) > 0 {
		return nil, fmt.Errorf("muc-kick's first kicks: %s", m[0])
	}
	if errs := s.join(first); len(errs) > 0 {
		return nil, fmt.Errorf("%d occupants could not enter again: %v", len(errs), errs[0])
	}
	return b, nil
}

// modKey names the runs of one operation, concurrency and mode.
type modKey struct {
	op   string
	conc int
	mode string
}

// measure runs round 0 (warm-up, at the higher concurrency) and rounds
// more, each running every operation at each concurrency in both modes,
// which goes first alternating, and prints the table.
func (b *modBench) measure(o *options, rounds int) error {
	concs := []int{1}
	if o.modConcurrency != 1 {
		concs = append(concs, o.modConcurrency)
	}
	total := map[modKey]*sample{}
	checks := map[modKey]*outcome{}
	pairs := map[modKey][]float64{} // mode ""
	warm := outcome{}
	for round := 0; round <= rounds; round++ {
		runConcs := concs
		if round == 0 {
			runConcs = concs[len(concs)-1:]
		}
		for oi, op := range modOps {
			for _, conc := range runConcs {
				modes := []string{"muc-kick", "direct"}
				if (round+oi)%2 == 0 {
					modes[0], modes[1] = modes[1], modes[0]
				}
				rate := map[string]float64{}
				for _, mode := range modes {
					reason := fmt.Sprintf("bench %s %s c=%d #%d", op, mode, conc, round)
					sm, out, err := b.run(op, mode == "direct", conc, reason)
					if err != nil {
						return err
					}
					if round == 0 {
						warm.add(out)
						continue
					}
					k := modKey{op, conc, mode}
					if total[k] == nil {
						total[k], checks[k] = &sample{}, &outcome{}
					}
					total[k].merge(sm)
					checks[k].add(out)
					rate[mode] = sm.rate()
				}
				if round > 0 && rate["direct"] > 0 {
					k := modKey{op, conc, ""}
					pairs[k] = append(pairs[k], rate["muc-kick"]/rate["direct"])
				}
			}
		}
	}
	b.table(concs, total, checks, pairs)
	b.summary(concs, total, checks, warm)
	return nil
}

// run runs operation op once on every occupant, through muc-kick or
// direct, conc requests in flight, with reason.
func (b *modBench) run(op string, direct bool, conc int, reason string) (*sample, outcome, error) {
	switch op {
	case opKick:
		return b.kickRun(direct, conc)
	case opMute:
		return b.muteRun(direct, conc, reason)
	}
	return b.retractRun(direct, conc, reason)
}

// batch sends one request per occupant (send), conc in flight, timing each
// and Prosody's CPU over them all; then, for each answered one, check
// looks for its effect as an occupant saw it, the checks of the run sharing
// checkWait.
func (b *modBench) batch(conc int, send func(r, k int) error, check func(r, k int, timeout time.Duration) error) (*sample, outcome) {
	s := b.s
	n := len(s.rooms) * len(s.clients)
	done := make([]bool, n)
	c0 := testkit.CPUTime(b.pid)
	sm := each(n, conc, func(i int) error {
		err := send(s.target(i))
		done[i] = err == nil
		return err
	})
	sm.serverCPU = testkit.CPUTime(b.pid) - c0
	var out outcome
	deadline := time.Now().Add(checkWait)
	for i, ok := range done {
		if !ok {
			continue
		}
		out.checked++
		r, k := s.target(i)
		if err := check(r, k, max(time.Until(deadline), time.Millisecond)); err != nil {
			out.unseen = append(out.unseen, err.Error())
		}
	}
	return sm, out
}

// kickRun kicks every occupant, checks its status 307, and brings back
// every occupant that left.
func (b *modBench) kickRun(direct bool, conc int) (*sample, outcome, error) {
	s := b.s
	send := func(r, k int) error { return b.d.kick(b.hc, s.rooms[r], nickOf(k)) }
	if direct {
		send = func(r, k int) error { return b.mod.Kick(s.rooms[r], nickOf(k), kickReason) }
	}
	sm, out := b.batch(conc, send, func(r, k int, timeout time.Duration) error {
		_, _, err := s.occ[r][k].WaitKicked(timeout)
		return err
	})
	gone := func(r, k int) bool { return !s.occ[r][k].Present(nickOf(k)) }
	if errs := s.join(gone); len(errs) > 0 {
		return sm, out, fmt.Errorf("%d occupants could not enter again: %v", len(errs), errs[0])
	}
	return sm, out, nil
}

// muteRun mutes every occupant, then unmutes every occupant; each request
// counts, and each occupant must see its own role change with reason.
func (b *modBench) muteRun(direct bool, conc int, reason string) (*sample, outcome, error) {
	s := b.s
	total := &sample{}
	var out outcome
	for _, role := range []string{"visitor", "participant"} {
		send := func(r, k int) error { return b.d.setRole(b.hc, s.rooms[r], nickOf(k), role, reason) }
		if direct {
			send = func(r, k int) error { return b.mod.SetRole(s.rooms[r], nickOf(k), role, reason) }
		}
		sm, o := b.batch(conc, send, func(r, k int, timeout time.Duration) error {
			return seenRole(s.occ[r][k], nickOf(k), role, reason, timeout)
		})
		total.merge(sm)
		out.add(o)
	}
	return total, out, nil
}

// seenRole waits for the presence from which o learns that nick has role,
// given with reason.
func seenRole(o *xmpptest.Occupant, nick, role, reason string, timeout time.Duration) error {
	from := o.Room + "/" + nick
	_, err := o.WaitPresence(timeout, func(p xmpptest.Presence) bool {
		return p.Type == "" && strings.EqualFold(p.From, from) && p.Role == role && p.Reason == reason
	})
	if err != nil {
		return fmt.Errorf("%s: role %s not seen: %w", from, role, err)
	}
	return nil
}

// retractRun has every occupant say one message (not measured), retracts
// each by the stanza id the room assigned, and checks that its author
// receives the retraction.
func (b *modBench) retractRun(direct bool, conc int, reason string) (*sample, outcome, error) {
	s := b.s
	ids, err := b.say(reason)
	if err != nil {
		return nil, outcome{}, err
	}
	send := func(r, k int) error { return b.d.retract(b.hc, s.rooms[r], ids[r][k], reason) }
	if direct {
		send = func(r, k int) error { return b.mod.Moderate(s.rooms[r], ids[r][k], b.ns, reason) }
	}
	sm, out := b.batch(conc, send, func(r, k int, timeout time.Duration) error {
		_, err := s.occ[r][k].WaitRetraction(ids[r][k], timeout)
		return err
	})
	return sm, out, nil
}

// say has every occupant send one groupchat message, the clients in
// parallel, and returns the stanza ids the rooms assigned.
func (b *modBench) say(text string) ([][]string, error) {
	s := b.s
	ids := make([][]string, len(s.rooms))
	for r := range ids {
		ids[r] = make([]string, len(s.clients))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(s.clients))
	for k := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range s.rooms {
				id, err := s.occ[r][k].Say(fmt.Sprintf("%s: message of %s", text, nickOf(k)))
				if err == nil && id == "" {
					err = fmt.Errorf("%s assigned no stanza id: is its archive (mod_muc_mam) on?", s.rooms[r])
				}
				if err != nil {
					errs[k] = err
					return
				}
				ids[r][k] = id
			}
		}()
	}
	wg.Wait()
	b.said += len(s.clients)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("saying the messages to retract: %w", err)
		}
	}
	return ids, nil
}

// table prints a row per operation, concurrency and mode over all counted
// runs, the muc-kick row with its ratios to the direct one.
func (b *modBench) table(concs []int, total map[modKey]*sample, checks map[modKey]*outcome, pairs map[modKey][]float64) {
	tw := newTable()
	fmt.Println()
	fmt.Fprintln(tw, "operation\tin flight\tmode\trequests\treq/s\tp50 ms\tp99 ms\tmax ms\tProsody CPU ms/req\treq/s ÷ direct (median pair)\tp50 ÷ direct\tseen by an occupant\tfailed\t")
	for _, op := range modOps {
		for _, conc := range concs {
			direct := total[modKey{op, conc, "direct"}]
			for _, mode := range []string{"muc-kick", "direct"} {
				k := modKey{op, conc, mode}
				sm, out := total[k], checks[k]
				rateRatio, p50Ratio := "", ""
				if mode == "muc-kick" {
					rateRatio, p50Ratio = ratio(sm.rate(), direct.rate()), ratio(float64(sm.pct(.5)), float64(direct.pct(.5)))
					if p := slices.Sorted(slices.Values(pairs[modKey{op, conc, ""}])); len(p) > 0 && rateRatio != "-" {
						rateRatio += fmt.Sprintf(" (%.2f)", p[len(p)/2])
					}
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%s\t%s\t%s\t%.2f\t%s\t%s\t%d/%d\t%s\t\n", op, conc, mode, sm.n, sm.rate(),
					ms(sm.pct(.5)), ms(sm.pct(.99)), ms(sm.max()), perK(sm.serverCPU, sm.n)/1000, rateRatio, p50Ratio,
					out.checked-len(out.unseen), out.checked, sm.failText())
			}
		}
	}
	tw.Flush()
}

// ratio formats a/b, or "-" when either is zero.
func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// summary prints the p50 gaps and what the checks found.
func (b *modBench) summary(concs []int, total map[modKey]*sample, checks map[modKey]*outcome, warm outcome) {
	fmt.Println()
	for _, op := range modOps {
		var gaps []string
		for _, conc := range concs {
			mk, direct := total[modKey{op, conc, "muc-kick"}], total[modKey{op, conc, "direct"}]
			gaps = append(gaps, fmt.Sprintf("c=%d %+.2f ms", conc, float64(mk.pct(.5)-direct.pct(.5))/float64(time.Millisecond)))
		}
		note("%-13s p50 muc-kick − direct: %s", op, strings.Join(gaps, ", "))
	}
	note("mute+unmute counts both requests (one occupant muted, then unmuted); a retraction's message is said before the run, unmeasured;")
	note("each room's archive held %d messages (tombstones after their retraction) at the end.", b.said)
	if e := b.d.mgr.Entries(); e != uint64(len(b.s.rooms)) {
		note("WARNING: muc-kick entered rooms %d times in all, expected %d (once per room)", e, len(b.s.rooms))
	}
	all := warm
	for _, out := range checks {
		all.add(*out)
	}
	if len(all.unseen) == 0 {
		note("every answered request's effect was seen by an occupant: the 307, the role change, the retraction (%d checked)", all.checked)
	} else {
		note("NOT SEEN by an occupant: %d of %d answered requests, first: %s", len(all.unseen), all.checked, all.unseen[0])
	}
}
