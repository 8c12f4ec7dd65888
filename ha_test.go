package main

// High-availability tests: two muc-kick binaries on one component domain
// (a standby on Prosody, a split detected on ejabberd). They reuse
// resilience_test.go's startBinary, postKick and friends.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/xmpptest"
)

// readyz returns /readyz's status and the "error" of its body.
func (p *daemonProc) readyz() (int, string) {
	resp, err := http.Get(p.url + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &b)
	return resp.StatusCode, b.Error
}

// waitNotReadyBecause waits until /readyz answers 503 with an error that
// contains why.
func (p *daemonProc) waitNotReadyBecause(t *testing.T, why string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, msg := p.readyz()
		if code == 503 && strings.Contains(msg, why) {
			return
		}
		if p.exited() {
			t.Fatalf("muc-kick exited (%v) while waiting for /readyz to say %q", p.state, why)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz is %d %q, not 503 %q, after %s", code, msg, why, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 kills the daemon with SIGKILL and waits for it to be gone.
func (p *daemonProc) kill9(t *testing.T) time.Time {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 5*time.Second)
	return time.Now()
}

// TestHAStandbyOnProsody: a second muc-kick on the same component domain
// gets <conflict/> from Prosody. It must stand by (not ready, and say why),
// and take over within 3 s of the first one's death.
func TestHAStandbyOnProsody(t *testing.T) {
	skipIfShort(t)
	bin := buildDaemon(t)
	onEachProsody(t, "standby takes over", func(t *testing.T, srv *xmpptest.Server) {
		active := startBinary(t, bin, srv, binOptions{})
		active.waitReady(t, 10*time.Second)
		standby := startBinary(t, bin, srv, binOptions{})
		standby.waitNotReadyBecause(t, "another connection holds the component domain", 10*time.Second)
		standby.waitLog(t, "component: standing by", 5*time.Second)
		if n := strings.Count(standby.logs.String(), "component: standing by"); n != 1 {
			t.Errorf("%d standby lines, want 1 (one when standing by starts)", n)
		}

		room := "standby@" + srv.MUCDomain
		join(t, srv, room, "owner")
		bob := join(t, srv, room, "bob")

		killed := active.kill9(t)
		standby.waitReady(t, 3*time.Second)
		took := time.Since(killed)
		out := postKick(newKickClient(), standby.url, kickBody{"bob", room, "failover"})
		t.Logf("the standby was ready %s after kill -9 of the active instance; first kick %d after %s",
			took.Round(time.Millisecond), out.code, time.Since(killed).Round(time.Millisecond))
		if out.code != 200 {
			t.Fatalf("kick through the standby: %d %q %v", out.code, out.errText, out.err)
		}
		if _, _, err := bob.WaitKicked(5 * time.Second); err != nil {
			t.Error(err)
		}
		standby.waitLog(t, "took over the component domain", time.Second)
	})
}

// TestHASharedDomainOnEjabberd: ejabberd accepts a second muc-kick on the
// same component domain and delivers each stanza to one of the two at
// random. Both must stop claiming ready, say why, and answer kicks with 503
// at once (not 504 after iq_timeout); once the second is gone, the first is
// ready again by itself.
func TestHASharedDomainOnEjabberd(t *testing.T) {
	skipIfShort(t)
	bin := buildDaemon(t)
	srv := xmpptest.StartEjabberd(t)
	first := startBinary(t, bin, srv, binOptions{})
	first.waitReady(t, 15*time.Second)
	second := startBinary(t, bin, srv, binOptions{})
	const why = "give each muc-kick instance its own component domain"
	start := time.Now()
	second.waitNotReadyBecause(t, why, 15*time.Second)
	first.waitNotReadyBecause(t, why, 15*time.Second)
	t.Logf("both not ready %s after the second started", time.Since(start).Round(time.Millisecond))
	for _, p := range []*daemonProc{first, second} {
		p.waitLog(t, "fix=", time.Second)
		t.Logf("logged: %s", lastLine(p.logs.String(), "splits this component domain"))
	}

	room := "shared@" + srv.MUCDomain
	join(t, srv, room, "owner")
	join(t, srv, room, "bob")
	for _, p := range []*daemonProc{first, second} {
		sent := time.Now()
		out := postKick(newKickClient(), p.url, kickBody{"bob", room, ""})
		if took := out.at.Sub(sent); out.code != 503 || took > time.Second {
			t.Errorf("kick on a shared domain: %d %q %v after %s, want 503 at once", out.code, out.errText, out.err, took)
		}
	}

	killed := second.kill9(t)
	first.waitReady(t, 30*time.Second)
	t.Logf("the first was ready again %s after the second was killed", time.Since(killed).Round(time.Millisecond))
}
