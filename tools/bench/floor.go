package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// Part 2's floor: what a kick costs a process that does only the part of
// muc-kick's work that no daemon of this design can skip, on this machine
// and in the same rounds.
//
// Both floor runs post the same requests as a kicker's run to
// tools/bench/holdserver, released: httprouter on an http.Server with
// muc-kick's timeouts that decodes the same JSON body and answers 200.
//
//   - "bare HTTP" answers at once. Its CPU per request, plus what muc-kick
//     pays as an occupant for each kick (the room sends every occupant the
//     kicked one's 307 presence; measured in the other kickers' runs), is a
//     floor under muc-kick's own CPU per kick: the HTTP exchange and one of
//     the two stanzas, without the IQ out or its result in, and at the rate
//     of a server that never waits, so with the fewest wake-ups.
//   - "bare HTTP, held" holds each request as long as muc-kick's kicks took
//     in the same round (their median) before answering, so that its
//     process sleeps and wakes as often as muc-kick's does: what the same
//     HTTP work costs at a kick's pace.

const (
	bareName     = "bare HTTP"
	bareHeldName = "bare HTTP, held"
)

var bareNames = []string{bareName, bareHeldName}

var holdBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "muc-kick-bench-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "holdserver")
	return bin, testkit.Build(bin, "./tools/bench/holdserver", "-trimpath")
})

// startBare starts the floor's process, released, on muc-kick's CPUs.
func (e *burstEnv) startBare(tb *testkit.Program) error {
	bin, err := holdBinary()
	if err != nil {
		return err
	}
	e.bare = startHoldProcess(tb, bin)
	resp, err := e.hc.Post(e.bare.URL()+"/release", "text/plain", bytes.NewReader(nil))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if e.rest != "" {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", e.rest, strconv.Itoa(e.bare.Pid())).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// runBare posts the same n requests as a kicker's run to the floor's
// process, conc at a time, each held for hold.
func (e *burstEnv) runBare(n, conc int, hold time.Duration) *burstResult {
	url := e.bare.URL() + "/muc_kick?hold=" + hold.String()
	srv0, own0 := cpuTimeOf(e.srvPid), cpuTimeOf(e.bare.Pid())
	sm := each(n, conc, func(i int) error {
		r, c := e.target(i)
		return postKick(e.hc, url, e.rooms[r], nickOf(c))
	})
	sm.serverCPU = cpuTimeOf(e.srvPid) - srv0
	return &burstResult{sample: sm, mkCPU: cpuTimeOf(e.bare.Pid()) - own0}
}

// floorRuns runs both floors after a round's kickers, and adds them to
// total after the warm-up.
func (e *burstEnv) floorRuns(server string, round, rounds, n, conc int, muckick *burstResult, total map[string]*burstResult, row func(string, *burstResult, string)) {
	for _, name := range bareNames {
		progress("part 2, %s: round %d of %d, %s", server, round, rounds, name)
		hold := time.Duration(0)
		if name == bareHeldName {
			hold = muckick.pct(.5)
		}
		b := e.runBare(n, conc, hold)
		label := "warm-up"
		if round > 0 {
			label = strconv.Itoa(round)
			if total[name] == nil {
				total[name] = &burstResult{sample: &sample{}}
			}
			total[name].add(b)
		}
		row(label, b, name)
	}
}

// floorNote says how far muc-kick's own CPU per kick is above the floor.
func floorNote(name string, total map[string]*burstResult) {
	mk, bare, held := total["muc-kick"], total[bareName], total[bareHeldName]
	if mk == nil || bare == nil || held == nil {
		return
	}
	occ := idleShare(total)
	floor := bare.mkPerKick() + occ
	where := "above"
	if floor > 0.1 {
		where = "below"
	}
	note("%s: floor under muc-kick's own CPU per kick: a bare net/http handler answering at once %.3f ms per request + as an occupant %.3f ms per kick = %.3f ms (the 0.1 ms target is %s it); muc-kick's own %.3f ms is %.3f ms above it (the IQ out, its result in, the wake-ups of a kick's pace and muc-kick's own work)",
		name, bare.mkPerKick(), occ, floor, where, mk.mkPerKick(), mk.mkPerKick()-floor)
	note("%s: the same bare handler held as long as a kick: %.3f ms per request (the bare rows' \"muc-kick CPU\" is holdserver's); with the occupant's %.3f ms, %.3f ms against muc-kick's %.3f ms",
		name, held.mkPerKick(), occ, held.mkPerKick()+occ, mk.mkPerKick())
}
