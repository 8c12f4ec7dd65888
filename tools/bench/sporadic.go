package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// sporadic is part 4: kicks arriving at random (a Poisson process) into
// random rooms of a size, on the newest Prosody and the newest ejabberd, for
// muc-kick with its default configuration, for a direct moderator client
// that stays in the rooms (the cost floor: what an in-process module such
// as mod_http_muc_kick costs the server), and for muc-kick with
// room_policy "linger" (the policy before "adaptive"), its linger scaled to
// the run.
//
// Per server, size and mode it reports the server's CPU time per kick (the
// utime+stime of its process, Prosody or ejabberd's beam.smp, from /proc
// over the measured run, less what the kicked occupants' re-entries cost,
// each bracketed the same way), the latency from the request to its answer,
// and the arrivals and departures of the bot that the occupants received.
func sporadic(o *options) error {
	section("4. Sporadic kicks: Poisson arrivals (mean gap %v) into random rooms of %s occupants, %v measured per server, size and mode",
		o.spInterval, joinInts(o.spSizes), o.spDuration)
	note("modes: \"muc-kick\" = default configuration (room_policy adaptive); \"direct\" = a c2s moderator client that created the")
	note("rooms and stays in them, sending the kick IQ itself (the floor: what an in-process module costs); \"linger\" = muc-kick with")
	note("room_policy \"linger\", linger %v, scaled to the run: a room of a size with n rooms gets a kick every n × %v on average, as",
		o.spLinger, o.spInterval)
	note("with linger 30s and kicks every n × %.0fs.", 30*o.spInterval.Seconds()/o.spLinger.Seconds())
	note("Each mode gets one unmeasured kick per room first (the direct client's own entry is not counted either); the run then")
	note("counts everything the server does, less the re-entries of kicked occupants; for \"linger\" it ends after the last departure.")
	if o.quick {
		note("-quick: a smoke test; a few kicks against /proc's 10 ms resolution make the CPU columns meaningless.")
	}
	code := 0
	for _, family := range []string{"prosody", "ejabberd"} {
		inst, ok := newestInstall(family)
		if !ok {
			note("%s: skipped, not installed (make deps)", family)
			continue
		}
		tb := newTB(o)
		if err := tb.Run(func() error { return sporadicOn(tb, o, inst) }); err != nil {
			fmt.Fprintf(os.Stderr, "bench: part 4 on %s: %v\n", inst.Name(), err)
			code = 1
		}
	}
	if code != 0 {
		return fmt.Errorf("see above")
	}
	return nil
}

func joinInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ", ")
}

func newestInstall(family string) (xmpptest.Install, bool) {
	var best xmpptest.Install
	ok := false
	for _, i := range xmpptest.Installs() {
		if i.Family == family {
			best, ok = i, true
		}
	}
	return best, ok
}

// allowBigRooms raises ejabberd's default of 200 occupants per room.
func allowBigRooms(srv *xmpptest.Server) error {
	if srv.Kind != "ejabberd" {
		return nil
	}
	return restartWith(srv, "muc-kick.yml", "    access_admin: muc_admin\n", "    max_users: 5000\n    default_room_options:\n      max_users: 5000\n")
}

// restartWith adds text after the line anchor of the file name in srv's
// directory (its configuration), and restarts srv so that it reads it.
func restartWith(srv *xmpptest.Server, name, anchor, text string) error {
	path := filepath.Join(srv.Dir, name)
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), anchor) {
		return fmt.Errorf("cannot add %q to %s: %v", text, path, err)
	}
	srv.Stop()
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), anchor, anchor+text, 1)), 0o600); err != nil {
		return err
	}
	srv.Start()
	return nil
}

type spRow struct {
	size, rooms    int
	mode           string
	kicks          int
	cpu            time.Duration // server CPU, re-entries excluded
	lat            []time.Duration
	joins, leaves  int64 // bot arrivals and departures received by occupants
	entries        uint64
	failed         int
	firstFailure   string
	measuredWindow time.Duration
}

func (r *spRow) perKick() float64 {
	if r.kicks == 0 {
		return 0
	}
	return float64(r.cpu) / float64(time.Millisecond) / float64(r.kicks)
}

func (r *spRow) pct(p float64) time.Duration {
	s := &sample{lat: r.lat}
	slices.Sort(s.lat)
	return s.pct(p)
}

func sporadicOn(tb *testkit.Program, o *options, inst xmpptest.Install) error {
	begin := time.Now()
	srv := inst.Start(tb)
	if err := allowBigRooms(srv); err != nil {
		return err
	}
	pid := srv.Pid()
	if pid == 0 {
		return fmt.Errorf("no process of %s found", srv.Name())
	}
	cpu := func() time.Duration { return testkit.CPUTime(pid) }

	rooms := make([]string, len(o.spSizes))
	for i, size := range o.spSizes {
		rooms[i] = fmt.Sprintf("sp%d-%d@%s", i, size, srv.MUCDomain)
	}
	mod := xmpptest.Connect(tb, srv)
	for _, room := range rooms {
		if _, err := mod.Join(room, "moderator"); err != nil {
			return fmt.Errorf("direct client entering %s: %w", room, err)
		}
	}
	cr := &crowd{botNick: "kickbot"}
	maxSize := slices.Max(o.spSizes)
	clients := make([]*lightClient, maxSize)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for k := range maxSize {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lc, err := dialLight(cr, srv.ClientAddr, srv.AnonDomain, nickOf(k))
			if err == nil {
				for i, room := range rooms {
					if k < o.spSizes[i] {
						if err = lc.join(room); err != nil {
							break
						}
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			clients[k] = lc
		}()
	}
	wg.Wait()
	tb.Cleanup(func() {
		for _, lc := range clients {
			if lc != nil {
				lc.close()
			}
		}
	})
	// Runs first: a graceful stop would broadcast a departure per occupant
	// to every other one (a million stanzas in a room of 1,000) and not be
	// done within the harness's 15 s.
	tb.Cleanup(srv.Kill)
	if firstErr != nil {
		return fmt.Errorf("setting up the occupants: %w", firstErr)
	}
	quiet(cr)
	members := 0
	for _, s := range o.spSizes {
		members += s
	}
	note("")
	note("%s: %d rooms (%s occupants), %d occupant connections, %d memberships; ready in %s",
		srv.Name(), len(rooms), joinInts(o.spSizes), maxSize, members, time.Since(begin).Round(time.Second))

	logf, err := tempLog(tb)
	if err != nil {
		return err
	}

	sizes := slices.Compact(slices.Sorted(slices.Values(o.spSizes)))
	var rows []*spRow
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	for si, size := range sizes {
		var inClass []int
		for i, s := range o.spSizes {
			if s == size {
				inClass = append(inClass, i)
			}
		}
		modes := slices.Clone(o.spModes)
		if si%2 == 1 {
			slices.Reverse(modes)
		}
		for _, mode := range modes {
			row, err := sporadicRun(o, srv, mod, clients, cr, cpu, logf, rooms, inClass, size, mode, rng)
			if err != nil {
				return fmt.Errorf("%s, rooms of %d: %w", mode, size, err)
			}
			rows = append(rows, row)
		}
	}

	// A mode listed more than once (-sporadic-modes muc-kick,direct,direct,muc-kick)
	// gets one row per run and one summing its runs.
	type key struct {
		size int
		mode string
	}
	total := map[key]*spRow{}
	var order []key
	for _, r := range rows {
		k := key{r.size, r.mode}
		t := total[k]
		if t == nil {
			t = &spRow{size: r.size, mode: r.mode + ", all runs"}
			total[k] = t
			order = append(order, k)
		}
		t.rooms, t.kicks, t.cpu = r.rooms, t.kicks+r.kicks, t.cpu+r.cpu
		t.lat = append(t.lat, r.lat...)
		t.joins, t.leaves, t.entries, t.failed = t.joins+r.joins, t.leaves+r.leaves, t.entries+r.entries, t.failed+r.failed
		if t.firstFailure == "" {
			t.firstFailure = r.firstFailure
		}
	}
	repeated := len(rows) > len(order)
	if repeated {
		slices.SortStableFunc(order, func(a, b key) int { return a.size - b.size })
		for _, k := range order {
			rows = append(rows, total[k])
		}
	}
	floor := func(size int) *spRow { return total[key{size, "direct"}] }

	fmt.Println()
	tw := newTable()
	fmt.Fprintln(tw, "server\toccupants\trooms\tmode\tkicks\tserver CPU ms/kick\t÷ direct\tp50 ms\tp99 ms\tbot arrivals seen\tbot departures seen\tentries\tfailed\t")
	for _, r := range rows {
		ratio := "-"
		if d := floor(r.size); d != nil && d.perKick() > 0 {
			ratio = fmt.Sprintf("%.2f", r.perKick()/d.perKick())
		}
		failed := "-"
		if r.failed > 0 {
			failed = fmt.Sprintf("%d (%s)", r.failed, r.firstFailure)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%.2f\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t\n", srv.Name(), r.size, r.rooms, r.mode, r.kicks, r.perKick(), ratio,
			ms(r.pct(.5)), ms(r.pct(.99)), r.joins, r.leaves, r.entries, failed)
	}
	tw.Flush()
	for _, k := range order {
		r, d := total[k], floor(k.size)
		if k.mode == "direct" || d == nil || d.perKick() == 0 {
			continue
		}
		q := r.perKick() / d.perKick()
		target := ""
		if k.mode == "muc-kick" && k.size >= 150 {
			target = fmt.Sprintf(" (target ≤ 1.3: %s)", verdict(q <= 1.3))
		}
		note("%s, rooms of %d: %s ÷ direct server CPU per kick = %.2f%s", srv.Name(), k.size, k.mode, q, target)
	}
	return nil
}

// quiet waits until the occupants have received no presence for 300 ms (at
// most 30 s): the broadcasts of what came before are done.
func quiet(cr *crowd) {
	deadline := time.Now().Add(30 * time.Second)
	last := cr.presences.Load()
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		n := cr.presences.Load()
		if n == last {
			return
		}
		last = n
	}
}

func sporadicRun(o *options, srv *xmpptest.Server, mod *xmpptest.Client, clients []*lightClient, cr *crowd, cpu func() time.Duration,
	logf *os.File, rooms []string, inClass []int, size int, mode string, rng *rand.Rand) (*spRow, error) {
	row := &spRow{size: size, rooms: len(inClass), mode: mode}
	var kick func(room, nick string) error
	entries := func() uint64 { return 0 }
	switch mode {
	case "direct":
		kick = func(room, nick string) error { return mod.Kick(room, nick, kickReason) }
	case "muc-kick", "linger":
		cfg := sporadicConfig(srv, mode, o.spLinger)
		d, err := startInproc(cfg, logf)
		if err != nil {
			return nil, err
		}
		defer func() { d.stop(); quiet(cr) }()
		if !d.waitConnected(20 * time.Second) {
			return nil, fmt.Errorf("muc-kick did not connect to %s", srv.Name())
		}
		hc := newClient(4)
		kick = func(room, nick string) error { return d.kick(hc, room, nick) }
		entries = d.mgr.Entries
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}

	// one kicks occupant k of room i, waits for its status-307 presence and
	// brings it back, returning the latency and the server CPU the return
	// cost.
	one := func(i, k int) (time.Duration, time.Duration, error) {
		room, lc := rooms[i], clients[k]
		kicked := lc.expectKick(room)
		t0 := time.Now()
		err := kick(room, nickOf(k))
		lat := time.Since(t0)
		if err != nil {
			return 0, 0, err
		}
		if err := kicked(10 * time.Second); err != nil {
			return 0, 0, err
		}
		c0 := cpu()
		if err := lc.join(room); err != nil {
			return 0, 0, err
		}
		return lat, cpu() - c0, nil
	}
	for _, i := range inClass {
		if _, _, err := one(i, rng.IntN(size)); err != nil {
			return nil, fmt.Errorf("warm-up kick: %w", err)
		}
	}
	quiet(cr)

	c0, j0, l0, e0 := cpu(), cr.botJoins.Load(), cr.botLeaves.Load(), entries()
	var rejoins time.Duration
	start := time.Now()
	next := start
	for {
		next = next.Add(time.Duration(rng.ExpFloat64() * float64(o.spInterval)))
		if next.Sub(start) > o.spDuration {
			break
		}
		time.Sleep(time.Until(next))
		lat, rc, err := one(inClass[rng.IntN(len(inClass))], rng.IntN(size))
		rejoins += rc
		if err != nil {
			row.failed++
			if row.firstFailure == "" {
				row.firstFailure = err.Error()
			}
			continue
		}
		row.kicks++
		row.lat = append(row.lat, lat)
	}
	if mode == "linger" {
		// Its departures belong to the run: wait for the last.
		time.Sleep(o.spLinger + 500*time.Millisecond)
		quiet(cr)
	}
	row.measuredWindow = time.Since(start)
	row.cpu = cpu() - c0 - rejoins
	row.joins, row.leaves, row.entries = cr.botJoins.Load()-j0, cr.botLeaves.Load()-l0, entries()-e0
	return row, nil
}

// sporadicConfig is muc-kick's configuration for a mode: the defaults of
// every [muc] key for "muc-kick", room_policy "linger" for "linger".
func sporadicConfig(srv *xmpptest.Server, mode string, linger time.Duration) string {
	extra := ""
	if mode == "linger" {
		extra = "room_policy = \"linger\"\nlinger = \"" + linger.String() + "\"\n"
	}
	return `[component]
server = "` + srv.ComponentAddr + `"
domain = "` + srv.ComponentDomain + `"
secret = "` + srv.Secret + `"

[muc]
domains = ["` + srv.MUCDomain + `"]
` + extra + `
[http]
listen = "127.0.0.1:0"
authorization_header = "` + authz + `"
`
}
