package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"

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
//   - "bare HTTP, round trip" answers each request after one round trip on
//     one TCP connection, matched by id, to an echo peer (holdserver -echo,
//     on the server's CPU) that answers as late as Prosody answered
//     muc-kick's kicks in the same round (their median latency): the HTTP
//     exchange and the reply a kick waits for, at a kick's pace, without
//     XML, the room's presence, the audit line or muc-kick's bookkeeping.

const (
	bareName     = "bare HTTP"
	bareTripName = "bare HTTP, round trip"
)

var bareNames = []string{bareName, bareTripName}

var holdBinary = sync.OnceValues(func() (string, error) {
	dir, err := binDir()
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
	peer := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(tb))
	echo := testkit.Start(tb, exec.Command(bin, "-echo", peer), testkit.Options{URL: "http://" + peer})
	listen := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(tb))
	e.bare = startProcess(tb, exec.Command(bin, listen, peer), "http://"+listen, nil)
	resp, err := e.hc.Post(e.bare.URL()+"/release", "text/plain", bytes.NewReader(nil))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if e.rest == "" {
		return nil
	}
	return taskset(cpusOf{e.bare.Pid(), e.rest}, cpusOf{echo.Pid(), "0"})
}

// runBare posts the same n requests as a kicker's run to the floor's
// process, conc at a time, each answered as query says.
func (e *burstEnv) runBare(n, conc int, query string) *burstResult {
	url := e.bare.URL() + "/muc_kick?" + query
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
		query := "" // at once
		if name == bareTripName {
			query = "trip=" + muckick.pct(.5).String()
		}
		b := e.runBare(n, conc, query)
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
	mk, bare, trip := total["muc-kick"], total[bareName], total[bareTripName]
	if mk == nil || bare == nil || trip == nil {
		return
	}
	occ := idleShare(total)
	note("%s: floor under muc-kick's own CPU per kick (the bare rows' \"muc-kick CPU\" is holdserver's): a bare net/http handler answering at once %.3f ms per request, after a round trip answered at a kick's pace %.3f ms (the 0.1 ms target is %s it); with what muc-kick pays as an occupant, %.3f ms per kick: %.3f and %.3f ms, against muc-kick's own %.3f ms",
		name, bare.mkPerKick(), trip.mkPerKick(), relation(trip.mkPerKick(), 0.1), occ, bare.mkPerKick()+occ, trip.mkPerKick()+occ, mk.mkPerKick())
}

// relation says where a target stands against a measured x.
func relation(x, target float64) string {
	if x > target {
		return "below"
	}
	return "above"
}
