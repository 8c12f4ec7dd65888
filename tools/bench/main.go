// Command bench measures muc-kick on this machine, in one run, side by side
// with baselines measured in the same run, and prints a table:
//
//  1. The daemon's own ceiling: kicks through the real HTTP handler (real
//     HTTP over loopback, keep-alive clients) against an in-process fake
//     XEP-0114 server (fake.go) that answers at once, at concurrency 1, 16
//     and 256, next to a bare httprouter handler that only decodes the same
//     JSON, in alternating slices. The daemon enters every room once during
//     the warm-up and stays (linger 1h): every measured kick is a warm one.
//  2. Bursts on each Prosody installed (prosody.go, burst.go): R rooms × K
//     real occupants, every occupant kicked once per run at -concurrency in
//     flight, by the muc-kick binary (a subprocess), by a direct moderator
//     client that owns the rooms (the server's own ceiling), by Prosody's
//     in-process mod_http_muc_kick where MUC_KICK_BENCH_MODULE names its
//     file, and by muc-kick built from -baseline-rev, in rounds whose order
//     rotates: kicks/s, p50/p99, the server's CPU per kick and muc-kick's
//     own (each process's /proc/PID/task/*/schedstat), every 307 checked,
//     and each ratio's median and spread over the rounds; after each
//     round's kickers, the floor (floor.go): holdserver answering the same
//     requests at once and after a round trip to an echo peer at a kick's
//     pace. -pin gives the server a CPU of its own.
//  3. The resident memory of the muc-kick binary (a subprocess): idle, in
//     1,000 rooms, and with 1,000 kicks waiting for a server that does not
//     answer, beside holdserver, the same HTTP side without muc-kick.
//  4. Sporadic kicks (sporadic.go): Poisson arrivals into random rooms of
//     10, 150 and 1,000 real occupants on the newest Prosody and ejabberd,
//     for muc-kick with its default configuration, a direct moderator
//     client that stays in the rooms (the cost floor) and muc-kick with
//     room_policy "linger": the server's CPU per kick, p50/p99, and the
//     bot's arrivals and departures the occupants received.
//  5. Moderation (moderation.go), on the newest Prosody with retraction on
//     (xmpptest Options.Retraction; the rooms' archives in memory unless
//     -mod-archive internal): R rooms × K real occupants, every occupant
//     kicked, muted then unmuted, and one message of each retracted by the
//     stanza id the room assigned, once per run, through muc-kick (warm in
//     the rooms, as in part 2) and by the direct moderator client sending
//     the same IQ itself, alternating, at 1 and -mod-concurrency (8)
//     requests in flight: p50/p99, requests/s and the ratio muc-kick/direct.
//     Every answered request's effect is looked for in an occupant's stream:
//     the 307, the role change, the retraction.
//  6. Scaling (scale.go, plot.go): the kickers of part 2 in rooms of 10,
//     100 and 1,000 real occupants at 1, 16 and 256 kicks in flight, on
//     Debian 12's Prosody; with -plots, SVG figures.
//
// Timings are information, never a failure: it exits 0 unless the benchmark
// itself could not run. Progress goes to stderr. Run it from the
// repository's root:
//
//	make bench                       # parts 1, 2, 3 and 6, under 10 minutes; figures into docs/img
//	make bench BENCH_FLAGS=-quick    # about 2 minutes
//	MUC_KICK_BENCH_MODULE=/path/to/mod_http_muc_kick.lua make bench BENCH_FLAGS='-baseline-rev cbaeea1'
//	go run ./tools/bench -parts 2 -cpuprofile cpu.out   # also cpu.out-prosody-0.12.3, … of the muc-kick process
//	go run ./tools/bench -parts 4 -sporadic-duration 30s -sporadic-sizes 150,1000
//	go run ./tools/bench -parts 1 -cpuprofile cpu.out -memprofile mem.out
//	go run ./tools/bench -parts 2 -perf-stat   # system calls and context switches per kick
//	go run ./tools/bench -parts 5 -mod-archive internal -mod-occupants 10
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
)

// authz is the Authorization header every daemon the benchmark runs takes.
const authz = "Basic YmVuY2g6YmVuY2g=" // bench:bench

type options struct {
	quick          bool
	duration       time.Duration // one measured run of part 1
	rounds         int           // alternations per configuration
	rooms          int
	occupants      int
	concurrency    int // part 2
	pin            bool
	baselineRev    string // parts 2 and 6
	memRooms       int
	spSizes        []int         // part 4: occupants of each room
	spInterval     time.Duration // part 4: mean gap between kicks
	spDuration     time.Duration // part 4: measured time per server, size and mode
	spLinger       time.Duration // part 4: linger of the "linger" mode
	spModes        []string      // part 4
	memInFlight    int
	modRooms       int    // part 5
	modOccupants   int    // part 5
	modConcurrency int    // part 5
	modArchive     string // part 5: Prosody's storage of the rooms' archives
	scaleSizes     []int  // part 6
	scaleInFlight  []int
	scaleKicksN    int
	scaleKicksBig  int
	scaleRounds    int
	scaleServer    string
	plots          string
	plotFormat     string
	parts          string
	cpuprofile     string
	perfStat       bool
	memprofile     string
	verbose        bool
}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "short runs and small Prosody setups (3 rooms × 10 occupants), about 40 s")
	flag.DurationVar(&o.duration, "duration", 0, "part 1: measured time per server and concurrency per round (default 3s, 1s with -quick)")
	flag.IntVar(&o.rounds, "rounds", 0, "muc-kick/baseline alternations: part 1 measures rounds × duration per server and concurrency, in 500 ms slices; part 2 runs rounds pairs (default 2 and 5, 1 and 2 with -quick)")
	flag.IntVar(&o.rooms, "rooms", 0, "Prosody rooms in part 2 (default 10, 3 with -quick)")
	flag.IntVar(&o.occupants, "occupants", 0, "real occupants per room in part 2 (default 40, 10 with -quick)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "kicks in flight in part 2")
	flag.StringVar(&o.baselineRev, "baseline-rev", "", "parts 2 and 6: also run muc-kick built from this git revision (e.g. a commit before a change) as the kicker \"muc-kick@REV\", in the same rounds, so that today's code is compared with it in one run")
	flag.BoolVar(&o.pin, "pin", true, "parts 2 and 6: pin the XMPP server to CPU 0 and the bench and muc-kick to the others (taskset), so that the server's work per kick is measured apart")
	flag.IntVar(&o.memRooms, "mem-rooms", 1000, "rooms entered for the memory measurement")
	flag.IntVar(&o.memInFlight, "mem-inflight", 1000, "kicks in flight for the memory measurement")
	flag.StringVar(&o.parts, "parts", "1,2,3,6", "which parts to run, e.g. 1,3 (the default takes under 10 minutes; part 4 takes 12 more, part 5 about 1¼)")
	scaleSizes := flag.String("scale-sizes", "", "part 6: occupants per room (default 10,100,1000; 10,100 with -quick); the room of 1,000 takes 4 minutes, most of them Prosody filling it")
	flag.IntVar(&o.scaleRounds, "scale-rounds", 0, "part 6: rounds per number in flight in rooms under 1,000, summed (default 2, 1 with -quick); rooms of 1,000 run one")
	scaleInFlight := flag.String("scale-inflight", "1,16,256", "part 6: kicks in flight")
	flag.IntVar(&o.scaleKicksN, "scale-kicks", 0, "part 6: kicks per run (default 256, 64 with -quick)")
	flag.IntVar(&o.scaleKicksBig, "scale-kicks-big", 0, "part 6: kicks per run in rooms of 1,000 or more (default 32, 16 with -quick)")
	flag.StringVar(&o.scaleServer, "scale-server", "prosody", "part 6: the server, a family (its oldest install: Debian 12's) or an install such as prosody-13.0.1")
	flag.StringVar(&o.plots, "plots", "", "part 6: write the figures into this directory, e.g. docs/img")
	flag.StringVar(&o.plotFormat, "plot-format", "svg", "part 6: the figures' format, svg or png")
	flag.IntVar(&o.modRooms, "mod-rooms", 0, "part 5: Prosody rooms (default 4, 3 with -quick)")
	flag.IntVar(&o.modOccupants, "mod-occupants", 0, "part 5: real occupants per room (default 20, 10 with -quick)")
	flag.IntVar(&o.modConcurrency, "mod-concurrency", 8, "part 5: requests in flight of the runs that are not one at a time")
	flag.StringVar(&o.modArchive, "mod-archive", "memory", "part 5: Prosody's storage of the rooms' archives: \"memory\", or \"internal\" (Prosody's default: a file per room, read and rewritten by every retraction, so that its cost grows with the archive through the run)")
	spSizes := flag.String("sporadic-sizes", "", "part 4: occupants of each room, e.g. 10,10,150,150,1000 (the default; 10,150 with -quick)")
	flag.DurationVar(&o.spInterval, "sporadic-interval", time.Second, "part 4: mean gap between kicks (Poisson arrivals)")
	flag.DurationVar(&o.spDuration, "sporadic-duration", 0, "part 4: measured time per server, room size and mode (default 12s, 3s with -quick); the part takes about 2 × sizes × modes × this, plus setup")
	flag.DurationVar(&o.spLinger, "sporadic-linger", time.Second, "part 4: linger of the \"linger\" mode (muc-kick with room_policy \"linger\")")
	spModes := flag.String("sporadic-modes", "", "part 4: modes in the order run, of muc-kick, direct and linger; one listed twice runs twice (default muc-kick,direct,linger,direct,muc-kick; muc-kick,direct with -quick)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of extra muc-kick runs of part 1 (c=1, 16, 256) to `file`")
	flag.BoolVar(&o.perfStat, "perf-stat", false, "part 2: count the muc-kick process's system calls and context switches per kick with `perf stat` (root; perf's tracing adds to the CPU it measures)")
	flag.StringVar(&o.memprofile, "memprofile", "", "write an allocation profile of those runs to `file`")
	flag.BoolVar(&o.verbose, "v", false, "print the test harness's log lines")
	flag.Parse()
	def := func(v *int, full, quick int) {
		if *v <= 0 {
			*v = full
			if o.quick {
				*v = quick
			}
		}
	}
	if o.duration <= 0 {
		o.duration = 3 * time.Second
		if o.quick {
			o.duration = time.Second
		}
	}
	def(&o.rooms, 10, 3)
	if *spSizes == "" {
		*spSizes = "10,10,150,150,1000"
		if o.quick {
			*spSizes = "10,150"
		}
	}
	o.spSizes = intList("-sporadic-sizes", *spSizes)
	if *spModes == "" {
		*spModes = "muc-kick,direct,linger,direct,muc-kick"
		if o.quick {
			*spModes = "muc-kick,direct"
		}
	}
	o.spModes = strings.Split(*spModes, ",")
	if o.spDuration <= 0 {
		o.spDuration = 12 * time.Second
		if o.quick {
			o.spDuration = 3 * time.Second
		}
	}
	def(&o.occupants, 40, 10)
	def(&o.scaleKicksN, 256, 64)
	def(&o.scaleKicksBig, 32, 16)
	def(&o.scaleRounds, 2, 1)
	if *scaleSizes == "" {
		*scaleSizes = "10,100,1000"
		if o.quick {
			*scaleSizes = "10,100"
		}
	}
	o.scaleSizes = intList("-scale-sizes", *scaleSizes)
	o.scaleInFlight = intList("-scale-inflight", *scaleInFlight)
	def(&o.modRooms, 4, 3)
	def(&o.modOccupants, 20, 10)
	if o.plotFormat != "svg" && o.plotFormat != "png" {
		fmt.Fprintln(os.Stderr, "bench: -plot-format must be svg or png")
		os.Exit(2)
	}
	if o.modArchive != "memory" && o.modArchive != "internal" {
		fmt.Fprintln(os.Stderr, "bench: -mod-archive must be memory or internal")
		os.Exit(2)
	}
	if o.concurrency < 1 || o.memRooms < 1 || o.memInFlight < 1 || o.modConcurrency < 1 {
		fmt.Fprintln(os.Stderr, "bench: -concurrency, -mem-rooms, -mem-inflight and -mod-concurrency must be at least 1")
		os.Exit(2)
	}

	if o.memprofile != "" {
		runtime.MemProfileRate = 64 << 10 // set before anything allocates
	}
	// Ctrl-C removes the binaries too, after the parts' servers are stopped.
	end := &testkit.Program{Name: "bench"}
	end.Cleanup(removeBinDir)
	end.CloseOnInterrupt(func(os.Signal) {})
	begin := time.Now()
	machine()
	code, done := 0, 0
	for _, p := range []struct {
		name string
		run  func(*options) error
	}{
		{"1", ceiling},
		{"2", againstProsody},
		{"3", memory},
		{"4", sporadic},
		{"5", moderation},
		{"6", scale},
	} {
		if !strings.Contains(o.parts, p.name) {
			continue
		}
		done++
		progress("part %s (%d of %d parts to run)", p.name, done, strings.Count(o.parts, ",")+1)
		if err := p.run(&o); err != nil {
			fmt.Fprintf(os.Stderr, "bench: part %s: %v\n", p.name, err)
			code = 1
		}
	}
	fmt.Printf("\nload average at the end: %s; total %s\n", loadavg(), time.Since(begin).Round(time.Second))
	end.Close()
	os.Exit(code)
}

// binDir is the directory of the binaries the bench builds (muc-kick,
// holdserver, the -baseline-rev revisions), made at the first build;
// removeBinDir removes it when the bench ends.
var binDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "muc-kick-bench-bin-") })

func removeBinDir() {
	if dir, err := binDir(); err == nil {
		os.RemoveAll(dir)
	}
}

// machine prints what the numbers were measured on.
func machine() {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	fmt.Printf("muc-kick benchmark, %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("machine: %d CPUs (nproc), %s, %s %s/%s, GOMAXPROCS %d\n",
		runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Printf("load average at the start: %s (other work on the machine makes the numbers noisy)\n", loadavg())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// roundsOr returns -rounds, or full when it is not set (quick with -quick).
func (o *options) roundsOr(full, quick int) int {
	switch {
	case o.rounds > 0:
		return o.rounds
	case o.quick:
		return quick
	}
	return full
}

func newTable() *tabwriter.Writer {
	return tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
}

func section(format string, args ...any) {
	fmt.Printf("\n== "+format+"\n", args...)
}

func note(format string, args ...any) {
	fmt.Printf("   "+format+"\n", args...)
}

func verdict(ok bool) string {
	if ok {
		return "target met"
	}
	return "target missed"
}

// newTB returns the testkit.Program a part runs under: a Fatal ends the
// part with an error, errors go to stderr, log lines too with -v. Ctrl-C
// stops the servers the part started, in process groups of their own, and
// ends the bench.
func newTB(o *options) *testkit.Program {
	tb := &testkit.Program{Name: "bench", OnError: func(msg string) { fmt.Fprintln(os.Stderr, "   error: "+msg) }}
	tb.CloseOnInterrupt(nil)
	if o.verbose {
		tb.OnLog = func(msg string) { fmt.Fprintln(os.Stderr, "   "+msg) }
	}
	return tb
}

// intList parses a flag's comma-separated list of positive integers, or
// exits.
func intList(name, v string) []int {
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: %s: %q is not a positive number\n", name, f)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}
