package component_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"gosrc.io/xmpp/stanza"
)

// startProbing runs a component with the sharing probe against srv and
// waits for its stream.
func startProbing(t *testing.T, srv *fakeserver.Server, lines logLines) *component.Component {
	t.Helper()
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
		KeepaliveInterval: -1, IQTimeout: 300 * time.Millisecond, Probe: 4, Logger: slog.New(lines)})
	rec := &recorder{packets: make(chan stanza.Packet, 100), sessions: make(chan bool, 10)}
	c.SetHandler(rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitSession(t, rec, true)
	return c
}

// TestSharedDomainLostReplies: a server that answers some pings of a probe
// and loses the others (as ejabberd does when it splits a domain's stanzas
// between two streams) makes the component not ready, with ErrShared and a
// log line naming the fix; once every ping is answered and no other
// instance's reply came for a while, it is ready again.
func TestSharedDomainLostReplies(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	var n, split atomic.Int32
	split.Store(1)
	srv.Handle(func(c *fakeserver.Conn, s fakeserver.Stanza) {
		if s.Name == "iq" && s.Type == "get" && (split.Load() == 0 || n.Add(1)%2 == 0) {
			c.Send(fakeserver.Result(s))
		}
	})
	lines := make(logLines, 100)
	c := startProbing(t, srv, lines)
	if c.Ready() {
		t.Error("ready before the first probe ended")
	}
	waitLines(t, lines, 1, "component: not ready: the server splits", "")
	if err := c.NotReady(); !errors.Is(err, component.ErrShared) {
		t.Fatalf("NotReady() = %v, want ErrShared", err)
	}
	split.Store(0)
	start := time.Now()
	for !c.Ready() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("not ready 10s after the split ended: %v", c.NotReady())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ready again %s after the split ended", time.Since(start).Round(time.Millisecond))
}

// TestSharedDomainForeignReply: a reply to an id of another muc-kick
// process (its random prefix) makes the component not ready at once.
func TestSharedDomainForeignReply(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	lines := make(logLines, 100)
	c := startProbing(t, srv, lines)
	for !c.Ready() { // every ping answered: the first probe ends at once
		time.Sleep(5 * time.Millisecond)
	}
	srv.WaitConn(hangGuard).Send("<iq type='result' id='mk0123456789ab-7' from='example.org' to='" + domain + "'/>")
	waitLines(t, lines, 1, "component: not ready: the server splits", "")
	if err := c.NotReady(); !errors.Is(err, component.ErrShared) {
		t.Fatalf("NotReady() = %v, want ErrShared", err)
	}
	// A reply with some other id is not evidence.
	if got := c.UnmatchedReplies(); got != 1 {
		t.Errorf("UnmatchedReplies() = %d, want 1", got)
	}
}

// TestForgedForeignReplyIsNoEvidence: anyone on the XMPP network can send the
// component a result with another muc-kick's id; only one from the server's
// own address counts, or a stranger could take muc-kick out of service.
func TestForgedForeignReplyIsNoEvidence(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	lines := make(logLines, 100)
	c := startProbing(t, srv, lines)
	for !c.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	conn := srv.WaitConn(hangGuard)
	for _, from := range []string{"eve@example.org/x", "room@conference.example.org", "conference.example.org"} {
		conn.Send("<iq type='result' id='mk0123456789ab-7' from='" + from + "' to='" + domain + "'/>")
	}
	// The replies are read once their count moved.
	for deadline := time.Now().Add(5 * time.Second); c.UnmatchedReplies() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("UnmatchedReplies() = %d after 5s, want 3", c.UnmatchedReplies())
		}
	}
	if !c.Ready() {
		t.Fatalf("not ready after forged replies: %v", c.NotReady())
	}
}
