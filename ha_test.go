package main

// High-availability tests: two muc-kick binaries on one component domain
// (a standby on Prosody, a split detected on ejabberd). They reuse
// resilience_test.go's startBinary, postKick and friends.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
)

// readyz returns p's /readyz status and the "error" of its body.
func readyz(p *testkit.Process) (int, string) {
	code, raw, err := p.Get("/readyz")
	if err != nil {
		return 0, err.Error()
	}
	var b struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &b)
	return code, b.Error
}

// waitNotReadyBecause waits until p's /readyz answers 503 with an error that
// contains why.
func waitNotReadyBecause(t *testing.T, p *testkit.Process, why string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, msg := readyz(p)
		if code == 503 && strings.Contains(msg, why) {
			return
		}
		if p.Exited() {
			t.Fatalf("muc-kick exited (%v) while waiting for /readyz to say %q", p.State(), why)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz is %d %q, not 503 %q, after %s", code, msg, why, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 kills the daemon p with SIGKILL, waits for it to be gone and
// returns when it was. It fails t if p had already exited (the kill tested
// nothing), or is not gone within 5 s, but does not end the test: it runs on
// a burst's goroutine too.
func kill9(t testing.TB, p *testkit.Process) time.Time {
	t.Helper()
	if p.Exited() {
		t.Errorf("muc-kick (pid %d) had exited (%v) before kill -9; its last lines:\n%s", p.Pid(), p.State(), p.Tail())
		return time.Now()
	}
	if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill -9: %v", err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Errorf("muc-kick (pid %d) still running 5 s after kill -9", p.Pid())
		return time.Now()
	}
	killed := time.Now()
	// It may have exited just before the signal, between the check above
	// and the kill: only a death by SIGKILL is ours.
	if ws, ok := p.State().Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("muc-kick (pid %d) had exited (%v) before kill -9; its last lines:\n%s", p.Pid(), p.State(), p.Tail())
	}
	return killed
}

// TestHAStandbyOnProsody: a second muc-kick on the same component domain
// gets <conflict/> from Prosody. It must stand by (not ready, and say why),
// and take over within 3 s of the first one's death.
func TestHAStandbyOnProsody(t *testing.T) {
	xmpptest.SkipIfShort(t)
	bin := buildDaemon(t)
	onEachProsody(t, "standby takes over", func(t *testing.T, srv *xmpptest.Server) {
		active := startBinary(t, bin, srv, binOptions{})
		active.WaitReady(t, 10*time.Second)
		standby := startBinary(t, bin, srv, binOptions{})
		waitNotReadyBecause(t, standby, "another connection holds the component domain", 10*time.Second)
		standby.WaitLog(t, "component: standing by", 5*time.Second)
		if n := strings.Count(standby.Logs(), "component: standing by"); n != 1 {
			t.Errorf("%d standby lines, want 1 (one when standing by starts)", n)
		}

		room := "standby@" + srv.MUCDomain
		join(t, srv, room, "owner")
		bob := join(t, srv, room, "bob")

		killed := kill9(t, active)
		standby.WaitReady(t, 3*time.Second)
		took := time.Since(killed)
		out := postKick(newKickClient(), standby.URL(), kickBody{"bob", room, "failover"})
		t.Logf("the standby was ready %s after kill -9 of the active instance; first kick %d after %s",
			took.Round(time.Millisecond), out.code, time.Since(killed).Round(time.Millisecond))
		if out.code != 200 {
			t.Fatalf("kick through the standby: %d %q %v", out.code, out.errText, out.err)
		}
		if _, _, err := bob.WaitKicked(5 * time.Second); err != nil {
			t.Error(err)
		}
		standby.WaitLog(t, "took over the component domain", time.Second)
	})
}

// TestHASharedDomainOnEjabberd: ejabberd accepts a second muc-kick on the
// same component domain and delivers each stanza to one of the two at
// random. Both must stop claiming ready, say why, and answer kicks with 503
// at once (not 504 after iq_timeout); once the second is gone, the first is
// ready again by itself.
func TestHASharedDomainOnEjabberd(t *testing.T) {
	xmpptest.SkipIfShort(t)
	bin := buildDaemon(t)
	srv := xmpptest.StartEjabberd(t)
	first := startBinary(t, bin, srv, binOptions{})
	first.WaitReady(t, 15*time.Second)
	second := startBinary(t, bin, srv, binOptions{})
	const why = "give each muc-kick instance its own component domain"
	start := time.Now()
	waitNotReadyBecause(t, second, why, 15*time.Second)
	waitNotReadyBecause(t, first, why, 15*time.Second)
	t.Logf("both not ready %s after the second started", time.Since(start).Round(time.Millisecond))
	for _, p := range []*testkit.Process{first, second} {
		p.WaitLog(t, "fix=", time.Second)
		t.Logf("logged: %s", lastLine(p.Logs(), "splits this component domain"))
	}

	room := "shared@" + srv.MUCDomain
	join(t, srv, room, "owner")
	join(t, srv, room, "bob")
	for _, p := range []*testkit.Process{first, second} {
		sent := time.Now()
		out := postKick(newKickClient(), p.URL(), kickBody{"bob", room, ""})
		if took := out.at.Sub(sent); out.code != 503 || took > time.Second {
			t.Errorf("kick on a shared domain: %d %q %v after %s, want 503 at once", out.code, out.errText, out.err, took)
		}
	}

	killed := kill9(t, second)
	first.WaitReady(t, 30*time.Second)
	t.Logf("the first was ready again %s after the second was killed", time.Since(killed).Round(time.Millisecond))
}

// startHAProxy runs HAProxy with contrib/ha/haproxy.cfg, its listener and
// its two servers replaced with a free port and the daemons' addresses, and
// waits until it routes /readyz. It fails the test when haproxy is missing
// and CI is set.
func startHAProxy(t testing.TB, instances ...*testkit.Process) *testkit.Process {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("haproxy is not installed (.ci/install-servers installs it): %v", err)
		}
		t.Skip("haproxy is not installed")
	}
	raw, err := os.ReadFile("contrib/ha/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testkit.FreePort(t)))
	cfg := strings.Replace(string(raw), "bind 127.0.0.1:5280", "bind "+addr, 1)
	for i, p := range instances {
		old := fmt.Sprintf("127.0.0.1:%d", 5281+i)
		if !strings.Contains(cfg, old) {
			t.Fatalf("contrib/ha/haproxy.cfg has no server %s", old)
		}
		cfg = strings.Replace(cfg, old, strings.TrimPrefix(p.URL(), "http://"), 1)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var lb *testkit.Process
	t.Cleanup(func() { // registered first: runs once haproxy is gone
		if t.Failed() && lb != nil {
			t.Logf("haproxy log:\n%s", lb.Logs())
		}
	})
	lb = testkit.Start(t, exec.Command(bin, "-db", "-f", path), testkit.Options{URL: "http://" + addr})
	lb.WaitReady(t, 10*time.Second)
	return lb
}

// haproxyRetried matches a request line of HAProxy's httplog that was
// redispatched to another server (the retries field is "+N").
var haproxyRetried = regexp.MustCompile(`/\+\d+ \d+/\d+ "POST `)

// haOutcome is a kick through the load balancer, sent with Muc-Kick-Absent.
type haOutcome struct {
	kickOutcome
	sent   time.Time
	absent bool // 200 with "absent": the occupant was already gone
}

func postKickAbsentOK(client *http.Client, url string, body kickBody) haOutcome {
	out := haOutcome{sent: time.Now()}
	out.nick = body.Nickname
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url+"/muc_kick", bytes.NewReader(data))
	req.Header.Set("Authorization", testAuth)
	req.Header.Set("Muc-Kick-Absent", "ok")
	resp, err := client.Do(req)
	out.at = time.Now()
	if err != nil {
		out.err = err
		return out
	}
	defer resp.Body.Close()
	var b struct {
		Error  string   `json:"error"`
		Absent []string `json:"absent"`
	}
	raw, _ := io.ReadAll(resp.Body)
	out.code = resp.StatusCode
	if err := json.Unmarshal(raw, &b); err != nil {
		out.err = fmt.Errorf("status %d with a body that is not JSON: %q", resp.StatusCode, raw)
	}
	out.errText, out.absent = b.Error, len(b.Absent) > 0
	return out
}

// TestHALoadBalancerInstanceKilled: two muc-kick instances, each with its
// own component domain (contrib/ha's server snippets), behind HAProxy
// (contrib/ha/haproxy.cfg). One instance is killed with SIGKILL in the
// middle of a paced burst of kicks. Every request must be answered; a 200
// only for an occupant who really got the 307; every occupant out at the end
// (a request answered otherwise is sent again, as a backend would).
func TestHALoadBalancerInstanceKilled(t *testing.T) {
	xmpptest.SkipIfShort(t)
	bin := buildDaemon(t)
	for _, k := range xmpptest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			srv := k.StartHA(t)
			var instances []*testkit.Process
			for i, d := range srv.ComponentDomains {
				// Each its own nick too: on ejabberd a killed instance
				// stays in its rooms as a ghost occupant.
				instances = append(instances, startBinary(t, bin, srv, binOptions{domain: d, server: srv.ComponentAddrs[i], nick: fmt.Sprintf("kickbot%d", i+1)}))
			}
			for _, p := range instances {
				p.WaitReady(t, 15*time.Second)
			}
			lb := startHAProxy(t, instances...)

			const rooms, perRoom = 2, 12
			var occupants []*xmpptest.Occupant
			var bodies []kickBody
			for r := range rooms {
				room := fmt.Sprintf("ha%d@%s", r, srv.MUCDomain)
				join(t, srv, room, "watcher")
				for u := range perRoom {
					o := join(t, srv, room, fmt.Sprintf("r%du%d", r, u))
					occupants = append(occupants, o)
					bodies = append(bodies, kickBody{o.Nick, room, "ha"})
				}
			}

			// A paced burst: one kick every 5 ms; the first instance is
			// killed once a sixth of them have been answered, with kicks
			// in flight on it.
			client := newKickClient()
			outcomes := make([]haOutcome, len(bodies))
			var wg sync.WaitGroup
			var answered atomic.Int32
			killAt := int32(len(bodies) / 6)
			killedCh := make(chan time.Time, 1)
			for i, body := range bodies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outcomes[i] = postKickAbsentOK(client, lb.URL(), body)
					if answered.Add(1) == killAt {
						killedCh <- kill9(t, instances[0])
					}
				}()
				time.Sleep(5 * time.Millisecond)
			}
			wg.Wait()
			killed := <-killedCh

			var next200 time.Duration = -1
			for i, out := range outcomes {
				switch {
				case out.err != nil:
					t.Errorf("%s: no answer: %v", out.nick, out.err)
				case out.code == 200:
					if _, _, err := occupants[i].WaitKicked(5 * time.Second); err != nil {
						t.Errorf("%s: a false 200 (absent=%v): %v", out.nick, out.absent, err)
					}
					if d := out.at.Sub(killed); out.sent.After(killed) && (next200 < 0 || d < next200) {
						next200 = d
					}
				default:
					t.Logf("%s: %d %q (sent %s after the kill)", out.nick, out.code, out.errText, out.sent.Sub(killed).Round(time.Millisecond))
				}
			}
			var counts []kickOutcome
			absent := 0
			for _, o := range outcomes {
				counts = append(counts, o.kickOutcome)
				if o.absent {
					absent++
				}
			}
			retried := len(haproxyRetried.FindAllString(lb.Logs(), -1))
			t.Logf("%d kicks through HAProxy, one instance killed after %d answers: %s (%d of the 200s absent: a retry of a kick that had landed; HAProxy retried %d requests on the other instance); first 200 of a request sent after the kill: %s after the kill",
				len(outcomes), killAt, statusCounts(counts), absent, retried, next200.Round(time.Millisecond))

			// What did not get a 200 is sent again; then everyone is out.
			for i, out := range outcomes {
				if out.code != 200 {
					if again := postKickAbsentOK(client, lb.URL(), bodies[i]); again.code != 200 {
						t.Errorf("%s: again: %d %q %v", out.nick, again.code, again.errText, again.err)
					}
				}
			}
			for _, o := range occupants {
				if !gotKicked(o) {
					if _, _, err := o.WaitKicked(5 * time.Second); err != nil {
						t.Errorf("%s is still in %s: %v", o.Nick, o.Room, err)
					}
				}
			}
		})
	}
}
