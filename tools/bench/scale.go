package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// scale is part 6: how the cost of a kick grows with the room and with the
// kicks in flight. For each room size N (-scale-sizes) a fresh Prosody gets
// ceil(B/N) rooms of N real occupants, B kicks per run (-scale-kicks; fewer
// in rooms of 1,000, -scale-kicks-big, since each kick there is a broadcast
// to 1,000), and each kicker kicks B of them at each number in flight
// (-scale-inflight, capped at B), the kickers' order rotating, for
// -scale-rounds rounds (one in rooms of 1,000) whose runs are summed. Written out
// as a table, and with -plots as SVG figures (plot.go).
func scale(o *options) error {
	inst, ok := scaleInstall(o.scaleServer)
	section("6. Scaling on %s: rooms of %s occupants × %s kicks in flight; muc-kick, direct and (with %s) the module",
		inst.Name(), joinInts(o.scaleSizes), joinInts(o.scaleInFlight), moduleEnv)
	if !ok {
		note("skipped: no %s installed (make deps)", o.scaleServer)
		return nil
	}
	modPath, why := modulePath()
	if modPath == "" {
		note("module baseline: not run (%s)", why)
	}
	var cells []scaleCell
	for si, size := range o.scaleSizes {
		tb := newTB(o)
		err := tb.Run(func() error {
			got, err := scaleSize(tb, o, inst, size, si, modPath)
			cells = append(cells, got...)
			return err
		})
		unpin()
		if err != nil {
			return fmt.Errorf("rooms of %d: %w", size, err)
		}
	}
	printScale(cells)
	printScaleMarkdown(cells)
	if o.plots != "" {
		files, err := writePlots(o.plots, o.plotFormat, inst.Name(), cells)
		if err != nil {
			return err
		}
		note("figures written: %s", strings.Join(files, ", "))
	}
	return nil
}

// scaleCell is one run of the grid.
type scaleCell struct {
	size, inFlight int
	kicker         string
	res            *burstResult
}

// scaleInstall finds the server named by -scale-server: a family (its
// oldest install, Debian 12's) or an install's name.
func scaleInstall(name string) (xmpptest.Install, bool) {
	for _, i := range xmpptest.Installs() {
		if i.Family == name || i.Name() == name {
			return i, true
		}
	}
	return xmpptest.Install{Family: name, Version: "?"}, false
}

// scaleKicks is the burst of a room size: -scale-kicks, or -scale-kicks-big
// in rooms of 1,000 and more.
func (o *options) scaleKicks(size int) int {
	if size >= 1000 {
		return o.scaleKicksBig
	}
	return o.scaleKicksN
}

func scaleSize(tb *testkit.Program, o *options, inst xmpptest.Install, size, si int, modPath string) ([]scaleCell, error) {
	begin := time.Now()
	B := o.scaleKicks(size)
	R := (B + size - 1) / size
	progress("part 6: rooms of %d: setting up %d rooms × %d occupants on %s", size, R, size, inst.Name())
	e, err := startBurstEnv(tb, o, inst, R, size, modPath, "")
	if err != nil {
		return nil, err
	}
	note("rooms of %d: %d rooms × %d occupants, %d kicks per run; ready in %s; %s", size, R, size, B, time.Since(begin).Round(time.Second), e.pinned)
	defer func() { note("rooms of %d: done in %s", size, time.Since(begin).Round(time.Second)) }()
	rounds := o.scaleRounds
	if size >= 1000 {
		rounds = 1 // each run is long, and so less noisy
	}
	var cells []scaleCell
	for ci, inFlight := range o.scaleInFlight {
		c := min(inFlight, B)
		sum := map[string]*burstResult{}
		for round := range rounds {
			for _, k := range rotate(e.kickers, si+ci+round) {
				progress("part 6: rooms of %d, %d in flight, round %d of %d: %s", size, c, round+1, rounds, k.name)
				r, err := e.run(k, B, c)
				if err != nil {
					return cells, err
				}
				if sum[k.name] == nil {
					sum[k.name] = &burstResult{sample: &sample{}}
				}
				sum[k.name].add(r)
			}
		}
		for _, k := range e.kickers {
			cells = append(cells, scaleCell{size: size, inFlight: c, kicker: k.name, res: sum[k.name]})
		}
	}
	return cells, nil
}

func printScale(cells []scaleCell) {
	fmt.Println()
	tw := newTable()
	fmt.Fprintln(tw, "occupants\tin flight\tkicker\tkicks\tkicks/s\tp50 ms\tp99 ms\tserver CPU ms/kick\tmuc-kick CPU ms/kick\t307 missing\tfailed\t")
	for _, c := range cells {
		r := c.res
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%.0f\t%s\t%s\t%.3f\t%.3f\t%d\t%s\t\n", c.size, c.inFlight, c.kicker, r.n, r.rate(),
			ms(r.pct(.5)), ms(r.pct(.99)), r.serverPerKick(), r.mkPerKick(), r.missing, r.failText())
	}
	tw.Flush()
	fmt.Println()
	// muc-kick ÷ each baseline, per cell.
	for _, c := range cells {
		if c.kicker != "muc-kick" {
			continue
		}
		for _, base := range []string{"module", "direct"} {
			i := slices.IndexFunc(cells, func(b scaleCell) bool {
				return b.size == c.size && b.inFlight == c.inFlight && b.kicker == base
			})
			if i < 0 {
				continue
			}
			b := cells[i].res
			note("rooms of %4d, %3d in flight: muc-kick ÷ %s: kicks/s %.2f, server CPU per kick %.2f",
				c.size, c.inFlight, base, c.res.rate()/b.rate(), c.res.serverPerKick()/b.serverPerKick())
		}
	}
}

// printScaleMarkdown prints the grid again as the Markdown table
// docs/performance.md shows: a row per room size and number in flight, a
// column group per measure, the kickers in each.
func printScaleMarkdown(cells []scaleCell) {
	var kickers []string
	type key struct{ size, inFlight int }
	var keys []key
	at := map[key]map[string]*burstResult{}
	for _, c := range cells {
		if !slices.Contains(kickers, c.kicker) {
			kickers = append(kickers, c.kicker)
		}
		k := key{c.size, c.inFlight}
		if at[k] == nil {
			at[k] = map[string]*burstResult{}
			keys = append(keys, k)
		}
		at[k][c.kicker] = c.res
	}
	names := strings.Join(kickers, " / ")
	fmt.Printf("\n   Markdown (kickers in each cell: %s):\n\n", names)
	fmt.Println("| occupants | in flight | kicks/s | p50 ms | p99 ms | server CPU ms/kick | muc-kick CPU ms/kick |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, k := range keys {
		col := func(f func(r *burstResult) string) string {
			var v []string
			for _, name := range kickers {
				if r := at[k][name]; r != nil && r.n > 0 {
					v = append(v, f(r))
				} else {
					v = append(v, "–")
				}
			}
			return strings.Join(v, " / ")
		}
		var own []string
		for _, name := range kickers {
			if r := at[k][name]; r != nil && strings.HasPrefix(name, "muc-kick") {
				own = append(own, fmt.Sprintf("%.3f", r.mkPerKick()))
			}
		}
		fmt.Printf("| %d | %d | %s | %s | %s | %s | %s |\n", k.size, k.inFlight,
			col(func(r *burstResult) string { return fmt.Sprintf("%.0f", r.rate()) }),
			col(func(r *burstResult) string { return msText(r.pct(.5)) }),
			col(func(r *burstResult) string { return msText(r.pct(.99)) }),
			col(func(r *burstResult) string { return fmt.Sprintf("%.2f", r.serverPerKick()) }),
			strings.Join(own, " / "))
	}
}

// msText is a latency in milliseconds to about three digits, without an
// exponent: 1.35, 25.9, 187, 1130.
func msText(d time.Duration) string {
	switch v := msOf(d); {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
