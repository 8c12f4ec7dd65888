package component_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"gosrc.io/xmpp/stanza"
)

const (
	domain = "kick.example.org"
	secret = "s3cret"
)

// hangGuard is how long a test waits for an event before it calls it lost.
// It only stops a test that hangs: no test passes or fails by how fast the
// component works (a race-enabled build on a busy machine is slow), and a
// request's IQ timeout is this long too unless the test is about timeouts.
const hangGuard = 2 * time.Minute

type recorder struct {
	packets  chan stanza.Packet
	sessions chan bool
}

func (r *recorder) HandlePacket(p stanza.Packet) { r.packets <- p }
func (r *recorder) SessionChanged(up bool)       { r.sessions <- up }

// start runs a Component against srv until the test ends, and waits until
// it is connected.
func start(t *testing.T, srv *fakeserver.Server, opts component.Options) (*component.Component, *recorder, chan error) {
	t.Helper()
	opts.Server, opts.Domain, opts.Secret = srv.Addr, domain, secret
	if opts.IQTimeout == 0 {
		opts.IQTimeout = hangGuard
	}
	if opts.KeepaliveInterval == 0 {
		opts.KeepaliveInterval = -1
	}
	opts.BackoffMin, opts.BackoffMax = 10*time.Millisecond, 50*time.Millisecond
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	c := component.New(opts)
	rec := &recorder{packets: make(chan stanza.Packet, 100), sessions: make(chan bool, 100)}
	c.SetHandler(rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(hangGuard):
			t.Error("Run did not return after cancel")
		}
	})
	waitSession(t, rec, true)
	return c, rec, done
}

func waitSession(t *testing.T, rec *recorder, want bool) {
	t.Helper()
	select {
	case up := <-rec.sessions:
		if up != want {
			t.Fatalf("session changed to %v, want %v", up, want)
		}
	case <-time.After(hangGuard):
		t.Fatalf("no session change to %v", want)
	}
}

// checkGoroutines fails the test if goroutines do not return to base.
func checkGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutines: %d at start, %d at end\n%s", base, n, buf[:runtime.Stack(buf, true)])
		}
	})
}

func TestIQResultMatchedByID(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, _, _ := start(t, srv, component.Options{})
	reply, err := c.IQ(context.Background(), "set", "", "room@conference.example.org", struct {
		XMLName struct{} `xml:"urn:test q"`
	}{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Next(hangGuard)
	if got.ID == "" || reply.Id != got.ID || got.From != domain || got.To != "room@conference.example.org" {
		t.Fatalf("sent %+v, reply %+v", got, reply)
	}
	if !strings.Contains(got.Raw, `<q xmlns="urn:test"></q>`) {
		t.Errorf("payload not carried: %s", got.Raw)
	}
}

func TestIQErrorConditions(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, _, _ := start(t, srv, component.Options{})
	for _, tc := range []struct{ typ, cond, text string }{
		{"cancel", "not-allowed", "Changing role/affiliation is not allowed"},
		{"cancel", "item-not-found", ""},
		{"modify", "not-acceptable", "Nickname Bob does not exist in the room"},
		{"auth", "forbidden", ""},
		{"wait", "resource-constraint", ""},
	} {
		srv.Handle(func(fc *fakeserver.Conn, s fakeserver.Stanza) {
			fc.Send(fakeserver.Error(s, tc.typ, tc.cond, tc.text))
		})
		_, err := c.IQ(context.Background(), "set", "", "r@conference.example.org", nil)
		var serr *component.StanzaError
		if !errors.As(err, &serr) || serr.Type != tc.typ || serr.Condition != tc.cond || serr.Text != tc.text {
			t.Errorf("%s/%s: got %#v", tc.typ, tc.cond, err)
		}
		if !errors.Is(err, &component.StanzaError{Condition: tc.cond}) {
			t.Errorf("errors.Is(%v, %s) is false", err, tc.cond)
		}
	}
}

func TestRepliesFromElsewhereOrUnknownAreDropped(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{})
	srv.Handle(func(fc *fakeserver.Conn, s fakeserver.Stanza) {
		fc.Send("<iq type='result' id='nobody-waits' from='x@y' to='kick.example.org'/>")
		fc.Send("<iq type='result' id='" + s.ID + "' from='intruder@example.org' to='kick.example.org'><forged xmlns='urn:x'/></iq>")
		fc.Send("<iq type='result' id='" + s.ID + "' from='R@Conference.example.org' to='kick.example.org'/>")
	})
	reply, err := c.IQ(context.Background(), "set", "", "r@conference.example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The replies were read in order: the two before the right one were
	// dropped, not delivered.
	if reply.From != "R@Conference.example.org" || reply.Any != nil {
		t.Errorf("delivered %+v, want the reply from the room (domain and node compare case-insensitively)", reply)
	}
	if n := c.UnmatchedReplies(); n != 2 {
		t.Errorf("UnmatchedReplies() = %d, want 2", n)
	}
	if len(rec.packets) != 0 {
		t.Errorf("a reply reached the handler")
	}
}

func TestLateAndMissingReplies(t *testing.T) {
	checkGoroutines(t)
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{IQTimeout: 200 * time.Millisecond})
	conn := srv.WaitConn(hangGuard)
	requests := make(chan fakeserver.Stanza, 10)
	srv.Handle(func(_ *fakeserver.Conn, s fakeserver.Stanza) { requests <- s }) // the test answers, or not

	// No reply at all: the request times out and is no longer tracked.
	t0 := time.Now()
	_, err := c.IQ(context.Background(), "set", "", "r@conference.example.org", nil)
	if !errors.Is(err, component.ErrTimeout) {
		t.Fatalf("no reply: got %v, want ErrTimeout", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("timeout took %s", d)
	}
	if n := c.InFlight(); n != 0 {
		t.Errorf("%d IQs still tracked after their timeout", n)
	}

	// Its reply now comes late, followed by the next request's reply. The
	// stream is in order: when the next request has its own reply, the late
	// one was read before it, and dropped.
	late := <-requests
	if err := conn.Send(fakeserver.Result(late)); err != nil {
		t.Fatal(err)
	}
	srv.Handle(fakeserver.AnswerResult)
	reply, err := c.IQ(context.Background(), "get", "", "r@conference.example.org", nil)
	if err != nil {
		t.Fatalf("after a late reply the stream must still work: %v", err)
	}
	<-srv.Received() // the late request
	if next := <-srv.Received(); next.ID == late.ID || reply.Id == late.ID || reply.Id != next.ID {
		t.Errorf("late request %s, next request %s, reply delivered %s: want the next request's own", late.ID, next.ID, reply.Id)
	}
	if n := c.UnmatchedReplies(); n != 1 {
		t.Errorf("UnmatchedReplies() = %d after one late reply, want 1", n)
	}
	if len(rec.packets) != 0 {
		t.Error("the late reply reached the handler")
	}
}

func TestDisconnectFailsPendingAtOnceAndReconnects(t *testing.T) {
	checkGoroutines(t)
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{IQTimeout: hangGuard})
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {}) // the server never answers
	conn := srv.WaitConn(hangGuard)
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := c.IQ(context.Background(), "set", "", "r@conference.example.org", nil)
			errs <- err
		}()
	}
	// The server dies once all ten are on this stream, so that none is
	// sent late on the next one.
	for range 10 {
		if _, ok := srv.Next(hangGuard); !ok {
			t.Fatal("the IQs did not reach the server")
		}
	}
	t0 := time.Now()
	conn.Close()
	for range 10 {
		if err := <-errs; !errors.Is(err, component.ErrDisconnected) && !errors.Is(err, component.ErrNotConnected) {
			t.Errorf("got %v, want ErrDisconnected", err)
		}
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("pending IQs failed after %s, not at once", d)
	}
	waitSession(t, rec, false)
	srv.Handle(fakeserver.AnswerResult)
	waitSession(t, rec, true)
	if _, err := c.IQ(context.Background(), "set", "", "r@conference.example.org", nil); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
	if c.Reconnects() == 0 {
		t.Error("Reconnects() = 0 after a reconnect")
	}
}

func TestStreamCloseAndStreamErrorAreNoticed(t *testing.T) {
	for _, end := range []string{"</stream:stream>", "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"} {
		t.Run(end[:14], func(t *testing.T) {
			checkGoroutines(t)
			srv := fakeserver.Start(t, domain, secret)
			_, rec, _ := start(t, srv, component.Options{})
			srv.WaitConn(hangGuard).Send(end)
			waitSession(t, rec, false)
			waitSession(t, rec, true) // and it comes back by itself
		})
	}
}

func TestKeepaliveReplacesASilentStream(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {}) // a server that stopped answering
	_, rec, _ := start(t, srv, component.Options{KeepaliveInterval: 100 * time.Millisecond, IQTimeout: 200 * time.Millisecond})
	ping, ok := srv.Next(hangGuard)
	if !ok || !strings.Contains(ping.Raw, `<ping xmlns="urn:xmpp:ping">`) || ping.To != "example.org" {
		t.Fatalf("no keepalive ping: %+v", ping)
	}
	waitSession(t, rec, false)
}

func TestHandshakeRefusedIsPermanent(t *testing.T) {
	srv := fakeserver.Start(t, domain, "another secret")
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Run(ctx)
	if !errors.Is(err, component.ErrHandshake) || !strings.Contains(err.Error(), "not-authorized") {
		t.Fatalf("Run = %v, want ErrHandshake naming not-authorized", err)
	}
}

func TestNotConnected(t *testing.T) {
	c := component.New(component.Options{Server: "127.0.0.1:1", Domain: domain, Secret: secret})
	if _, err := c.IQ(context.Background(), "set", "", "r@c", nil); !errors.Is(err, component.ErrNotConnected) {
		t.Fatalf("got %v", err)
	}
	if err := c.Send(struct{}{}); !errors.Is(err, component.ErrNotConnected) {
		t.Fatalf("got %v", err)
	}
}

func TestServerPingIsAnswered(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	start(t, srv, component.Options{})
	srv.WaitConn(hangGuard).Send("<iq type='get' id='p1' from='example.org' to='kick.example.org'><ping xmlns='urn:xmpp:ping'/></iq>" +
		"<iq type='get' id='d1' from='example.org' to='kick.example.org'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")
	want := []string{
		`<iq type="result" id="p1" from="kick.example.org" to="example.org"></iq>`,
		`<iq type="error" id="d1" from="kick.example.org" to="example.org"><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></service-unavailable></error></iq>`,
	}
	for _, w := range want {
		got, _ := srv.Next(hangGuard)
		if got.Raw != w {
			t.Errorf("got  %s\nwant %s", got.Raw, w)
		}
	}
}

// logLines is a slog.Handler that hands each line's message and err to a
// channel, so a test can wait for what the component reports.
type logLines chan string

func (l logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logLines) WithGroup(string) slog.Handler            { return l }
func (l logLines) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			line += " err=" + a.Value.String()
		}
		return true
	})
	select {
	case l <- line:
	default:
	}
	return nil
}

// waitLines waits until n lines starting with prefix were logged, and
// checks that each matches pattern.
func waitLines(t *testing.T, lines logLines, n int, prefix, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	timeout := time.After(hangGuard)
	for seen := 0; seen < n; {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, prefix) {
				if !re.MatchString(l) {
					t.Fatalf("logged %q, want it to match %q", l, pattern)
				}
				seen++
			}
		case <-timeout:
			t.Fatalf("%d of %d lines %q logged", seen, n, prefix)
		}
	}
}

func TestSlowHandshakeTimesOutAndIsRetried(t *testing.T) {
	checkGoroutines(t)
	srv := fakeserver.Start(t, domain, secret)
	srv.DelayHandshakes(500 * time.Millisecond) // longer than ConnectTimeout; the fake server sleeps it through
	lines := make(logLines, 100)
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
		ConnectTimeout: 100 * time.Millisecond, BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
		KeepaliveInterval: -1, Logger: slog.New(lines)})
	rec := &recorder{packets: make(chan stanza.Packet, 1), sessions: make(chan bool, 10)}
	c.SetHandler(rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	// Two attempts gave up on the handshake, and were retried.
	// (The socket's deadline and the context's fire at the same moment.)
	waitLines(t, lines, 2, "component: cannot connect", "no handshake within 100ms|i/o timeout")
	if c.Connected() {
		t.Fatal("connected although the handshake took longer than connect_timeout")
	}
	srv.DelayHandshakes(0)
	waitSession(t, rec, true)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v after cancel, want nil", err)
	}
}

func TestUnknownTopLevelElementIsDropped(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	c, rec, _ := start(t, srv, component.Options{})
	srv.WaitConn(hangGuard).Send("<surprise xmlns='urn:example'/>")
	// The stream is in order: once an IQ sent after it has its reply, the
	// element has been read.
	if _, err := c.IQ(context.Background(), "set", "", "r@conference.example.org", nil); err != nil {
		t.Fatal(err)
	}
	if c.Malformed() != 1 {
		t.Errorf("Malformed() = %d, want 1", c.Malformed())
	}
	assertStillUp(t, c, rec)
}

// assertStillUp fails the test if the stream went down since start.
func assertStillUp(t *testing.T, c *component.Component, rec *recorder) {
	t.Helper()
	select {
	case up := <-rec.sessions:
		t.Fatalf("the session changed to up=%v", up)
	default:
	}
	if !c.Connected() || c.Reconnects() != 0 {
		t.Fatalf("Connected() = %v, Reconnects() = %d", c.Connected(), c.Reconnects())
	}
}

// TestThousandsOfReconnectsLeakNothing drops the stream right after each
// handshake, 2000 times, and checks that goroutines return to their baseline
// and the heap does not grow with the number of reconnects.
func TestThousandsOfReconnectsLeakNothing(t *testing.T) {
	checkGoroutines(t)
	srv := fakeserver.Start(t, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {}) // never answers
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
		BackoffMin: time.Microsecond, BackoffMax: time.Microsecond, IQTimeout: 10 * time.Second,
		KeepaliveInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := &recorder{packets: make(chan stanza.Packet, 1), sessions: make(chan bool, 10)}
	c.SetHandler(rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	var before uint64
	const rounds = 2000
	for i := range rounds {
		waitSession(t, rec, true)
		if i == 100 {
			before = heap()
		}
		// An IQ in flight when the stream drops must fail, not linger.
		errs := make(chan error, 1)
		go func() { _, err := c.IQ(ctx, "set", "", "r@c", nil); errs <- err }()
		for c.InFlight() == 0 {
			runtime.Gosched()
		}
		srv.WaitConn(hangGuard).Close()
		waitSession(t, rec, false)
		if err := <-errs; !errors.Is(err, component.ErrDisconnected) && !errors.Is(err, component.ErrNotConnected) {
			t.Fatalf("IQ on a dropped stream: %v", err)
		}
	}
	after := heap()
	cancel()
	<-done
	t.Logf("%d reconnects (Reconnects()=%d); heap in use after 100: %d KiB, after %d: %d KiB", rounds, c.Reconnects(), before>>10, rounds, after>>10)
	if after > before+1<<20 {
		t.Errorf("heap grew by %d KiB over %d reconnects", (after-before)>>10, rounds-100)
	}
	// (InFlight() after cancel is 0 with or without a leak: there is no
	// session to ask. The IQs' errors above are what shows none lingered.)
	if n := c.Reconnects(); n < rounds-1 {
		t.Errorf("Reconnects() = %d after %d dropped streams", n, rounds)
	}
}

// TestConflictAtHandshakeIsRetried: a <conflict/> (another stream holds the
// domain) makes a standby: not ready, saying why, one log line, and retries
// at StandbyInterval, not with growing backoff, until the domain is free.
func TestConflictAtHandshakeIsRetried(t *testing.T) {
	srv := fakeserver.Start(t, domain, secret)
	srv.RefuseHandshakes("conflict")
	lines := make(logLines, 100)
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
		BackoffMin: time.Hour, BackoffMax: time.Hour, StandbyInterval: 10 * time.Millisecond, KeepaliveInterval: -1,
		Logger: slog.New(lines)})
	rec := &recorder{packets: make(chan stanza.Packet, 1), sessions: make(chan bool, 10)}
	c.SetHandler(rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitLines(t, lines, 1, "component: standing by", "conflict")
	select {
	case err := <-done:
		t.Fatalf("Run gave up on a conflict, which is transient: %v", err)
	default:
	}
	if err := c.NotReady(); !errors.Is(err, component.ErrConflict) || c.Ready() {
		t.Errorf("NotReady() = %v, Ready() = %v while standing by", err, c.Ready())
	}
	// With a backoff of an hour, only the standby interval can bring the
	// attempt that succeeds.
	srv.RefuseHandshakes("")
	waitSession(t, rec, true)
	if err := c.NotReady(); err != nil {
		t.Errorf("NotReady() = %v once connected", err)
	}
	waitLines(t, lines, 1, "component: connected: took over", "")
	cancel()
	<-done
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "standing by") {
				t.Errorf("a second standby line: %s", l)
			}
			continue
		default:
		}
		break
	}
}
