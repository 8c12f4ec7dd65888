package component

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/xmpperr"
)

// TestSendOnADeadStreamIsNotConnected: a stanza that could not be queued
// because the stream ended was not sent, and says so with ErrNotConnected,
// wrapping why the stream ended (so HTTP answers 503, not 502).
func TestSendOnADeadStreamIsNotConnected(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	s := &session{conn: a, out: make(chan any), done: make(chan struct{}), pending: make(map[string]*waiter)}
	c := &Component{opts: Options{Domain: "kick.example.org", IQTimeout: time.Second}, sess: s}
	s.fail(io.ErrUnexpectedEOF)
	if err := c.Send(struct{}{}); !errors.Is(err, ErrNotConnected) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Send = %v, want ErrNotConnected wrapping the stream's end", err)
	}
	if _, err := c.IQ(t.Context(), "set", "", "r@c", nil); !errors.Is(err, ErrNotConnected) {
		t.Errorf("IQ = %v, want ErrNotConnected", err)
	}
}

// TestErrorClasses: each error that says what became of a request is in the
// class of package xmpperr that muc's callers test, and in no other; the
// others are in none.
func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct{ err, class error }{
		{ErrNotConnected, xmpperr.ErrUnavailable},
		{ErrConflict, xmpperr.ErrUnavailable},
		{ErrShared, xmpperr.ErrUnavailable},
		{ErrTimeout, xmpperr.ErrNoAnswer},
		{ErrDisconnected, xmpperr.ErrStreamLost},
		{ErrClosed, nil},
		{ErrHandshake, nil},
	} {
		checkClass(t, "", tc.err, tc.class)
	}
}

// TestARequestIsInOneClass: whatever ended the stream, a request in flight
// fails in ErrStreamLost's class and a stanza sent after in ErrUnavailable's,
// each in no other: the reason the stream ended, which both wrap, carries no
// class (session.fail keeps only the text of one that does).
func TestARequestIsInOneClass(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(*Component, *session)
	}{
		{"shutdown", func(_ *Component, s *session) { s.fail(ErrClosed) }},
		{"keepalive unanswered", (*Component).keepalive},
		{"a reason in a class", func(_ *Component, s *session) { s.fail(fmt.Errorf("writing: %w", ErrTimeout)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			s := &session{conn: a, out: make(chan any, 10), done: make(chan struct{}), pending: make(map[string]*waiter)}
			c := &Component{opts: Options{Domain: "kick.example.org", IQTimeout: time.Minute,
				KeepaliveInterval: time.Millisecond, KeepaliveTimeout: time.Millisecond}, sess: s}
			errs := make(chan error, 1)
			go func() {
				_, err := c.IQ(t.Context(), "set", "", "r@c", nil)
				errs <- err
			}()
			<-s.out // the request is sent
			tc.end(c, s)
			checkClass(t, "IQ in flight", <-errs, xmpperr.ErrStreamLost)
			checkClass(t, "Send after", c.Send(struct{}{}), xmpperr.ErrUnavailable)
		})
	}
}

// checkClass fails the test unless err is in class and in no other class
// of package xmpperr (in none if class is nil).
func checkClass(t *testing.T, what string, err, class error) {
	t.Helper()
	for _, c := range []error{xmpperr.ErrUnavailable, xmpperr.ErrNoAnswer, xmpperr.ErrStreamLost} {
		if got := errors.Is(err, c); got != (c == class) {
			t.Errorf("%s %v: errors.Is(err, %v) = %v", what, err, c, got)
		}
	}
}

// deadlineConn records, for each Write, whether a write deadline was set
// since the previous one.
type deadlineConn struct {
	net.Conn
	mu     sync.Mutex
	armed  bool
	writes []bool
	n      int
}

func (c *deadlineConn) SetWriteDeadline(time.Time) error {
	c.mu.Lock()
	c.armed = true
	c.mu.Unlock()
	return nil
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, c.armed)
	c.armed = false
	c.n += len(p)
	c.mu.Unlock()
	return len(p), nil
}

func (c *deadlineConn) Close() error { return nil }

// TestEveryWriteHasItsDeadline: a batch larger than the write buffer is
// written in several writes, each under its own deadline.
func TestEveryWriteHasItsDeadline(t *testing.T) {
	conn := &deadlineConn{}
	s := &session{conn: conn, out: make(chan any, 10), done: make(chan struct{})}
	big := struct {
		XMLName struct{} `xml:"message"`
		Body    string   `xml:"body"`
	}{Body: strings.Repeat("x", 40<<10)}
	for range 3 {
		s.out <- big
	}
	finished := make(chan struct{})
	go func() { s.writeLoop(); close(finished) }()
	s.close(time.Second) // queues </stream:stream> after the batch; the fake conn never answers
	<-finished
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if len(conn.writes) < 7 || conn.n < 3*40<<10 {
		t.Fatalf("%d writes of %d bytes: want a batch of 120 KiB in several", len(conn.writes), conn.n)
	}
	for i, armed := range conn.writes {
		if !armed {
			t.Errorf("write %d of %d had no deadline of its own", i+1, len(conn.writes))
		}
	}
}

func TestLimiterHoldsBackAndCounts(t *testing.T) {
	l := newLimiter(time.Hour)
	t0 := time.Now()
	if ok, held := l.allowAt(t0); !ok || held != 0 {
		t.Fatalf("first: %v, %d", ok, held)
	}
	for range 3 {
		if ok, _ := l.allow(); ok {
			t.Fatal("let through within the interval")
		}
	}
	if ok, held := l.allowAt(t0.Add(time.Hour + time.Second)); !ok || held != 3 { // the interval has passed
		t.Fatalf("after the interval: %v, %d held; want true, 3", ok, held)
	}
}
