package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// newClient is a keep-alive HTTP client holding up to conns connections.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns + 16,
			MaxIdleConnsPerHost: conns + 16,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
		},
	}
}

// post sends one kick request and reads the whole answer.
func post(c *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// postJSON posts body to url and decodes a 200 answer into v; another
// status is an error naming it.
func postJSON(c *http.Client, url string, body []byte, v any) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// sample is what one measured run produced.
type sample struct {
	n         int             // requests answered 200
	failed    map[string]int  // other outcomes, by status or error
	elapsed   time.Duration   // wall time
	lat       []time.Duration // latencies of the 200s, sorted
	cpu       time.Duration   // user+system time of this process
	serverCPU time.Duration   // user+system time of the XMPP server, if measured
	mallocs   uint64          // heap allocations in this process
	allocMem  uint64          // bytes allocated in this process
}

func (s *sample) rate() float64 { return float64(s.n) / s.elapsed.Seconds() }

func (s *sample) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := max(0, int(math.Ceil(p*float64(len(s.lat))))-1)
	return s.lat[i]
}

func (s *sample) max() time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[len(s.lat)-1]
}

func (s *sample) failures() int {
	n := 0
	for _, v := range s.failed {
		n += v
	}
	return n
}

func (s *sample) failText() string {
	if len(s.failed) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(s.failed))
	for k := range s.failed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d× %s", s.failed[k], k)
	}
	return b.String()
}

// merge adds t to s (runs of the same configuration).
func (s *sample) merge(t *sample) {
	s.n += t.n
	s.elapsed += t.elapsed
	s.cpu += t.cpu
	s.serverCPU += t.serverCPU
	s.mallocs += t.mallocs
	s.allocMem += t.allocMem
	s.lat = append(s.lat, t.lat...)
	slices.Sort(s.lat)
	if s.failed == nil {
		s.failed = make(map[string]int)
	}
	for k, v := range t.failed {
		s.failed[k] += v
	}
}

// meter reads this process's CPU time and allocation counters.
type meter struct {
	start   time.Time
	cpu     time.Duration
	mallocs uint64
	bytes   uint64
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startMeter() meter {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return meter{start: time.Now(), cpu: cpuTime(), mallocs: ms.Mallocs, bytes: ms.TotalAlloc}
}

func (m meter) stop(s *sample) {
	s.elapsed = time.Since(m.start)
	s.cpu = cpuTime() - m.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mallocs = ms.Mallocs - m.mallocs
	s.allocMem = ms.TotalAlloc - m.bytes
}

// hammer posts bodies (in turn) to url from conc workers until dur has
// passed, each worker waiting for its answer before its next request.
func hammer(c *http.Client, url string, bodies [][]byte, conc int, dur time.Duration) *sample {
	var next atomic.Uint64
	lats := make([][]time.Duration, conc)
	fails := make([]map[string]int, conc)
	var wg sync.WaitGroup
	m := startMeter()
	deadline := m.start.Add(dur)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, 512)
			f := map[string]int{}
			for {
				body := bodies[next.Add(1)%uint64(len(bodies))]
				t0 := time.Now()
				code, err := post(c, url, body)
				t1 := time.Now()
				switch {
				case err != nil:
					f[err.Error()]++
				case code != http.StatusOK:
					f[fmt.Sprintf("HTTP %d", code)]++
				default:
					l = append(l, t1.Sub(t0))
				}
				if t1.After(deadline) {
					break
				}
			}
			lats[w], fails[w] = l, f
		}()
	}
	wg.Wait()
	s := &sample{failed: map[string]int{}}
	m.stop(s)
	for w := range conc {
		s.lat = append(s.lat, lats[w]...)
		for k, v := range fails[w] {
			s.failed[k] += v
		}
	}
	s.n = len(s.lat)
	slices.Sort(s.lat)
	return s
}

// each runs job(i) for i in [0, n) on conc workers and returns the
// latencies of the jobs that succeeded, the failures by text, and the wall
// time from the first start to the last end.
func each(n, conc int, job func(i int) error) *sample {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	m := startMeter()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				err := job(i)
				lat[i] = time.Since(t0)
				ok[i], errs[i] = err == nil, err
			}
		}()
	}
	wg.Wait()
	s := &sample{failed: map[string]int{}}
	m.stop(s)
	for i := range n {
		if ok[i] {
			s.lat = append(s.lat, lat[i])
		} else {
			s.failed[errs[i].Error()]++
		}
	}
	s.n = len(s.lat)
	slices.Sort(s.lat)
	return s
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}
