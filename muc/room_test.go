package muc

// Unit tests of the room state machine (room.go), one or more per
// transition, against a scripted Conn. Presences go through gosrc.io/xmpp's
// real parser. Tests synchronise on events (a presence sent, an IQ asked, a
// channel closed), never on a sleep.

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// mustRoom parses a room JID a test names.
func mustRoom(s string) jid.JID {
	j, err := jid.ParseRoom(s)
	if err != nil {
		panic(err)
	}
	return j
}

const (
	tDomain   = "kick.example.org"
	tOccupant = tDomain + "/muc-kick"
	tMUC      = "conference.example.org"
	tRoom     = "room@" + tMUC
	tSelf     = tRoom + "/kickbot"
)

// iqCall is one IQ the manager asked.
type iqCall struct {
	typ, from, to string
	payload       any
}

// scriptConn is a Conn whose IQ answers come from a function and whose sent
// presences are delivered on a channel.
type scriptConn struct {
	sent    chan presence
	iqs     chan iqCall
	answer  func(c iqCall) (*stanza.IQ, error)
	sendErr atomic.Pointer[error]
}

func newScriptConn(answer func(c iqCall) (*stanza.IQ, error)) *scriptConn {
	return &scriptConn{sent: make(chan presence, 100), iqs: make(chan iqCall, 1000), answer: answer}
}

func (c *scriptConn) Domain() string { return tDomain }

func (c *scriptConn) Send(v any) error {
	if err := c.sendErr.Load(); err != nil {
		return *err
	}
	c.sent <- v.(presence)
	return nil
}

func (c *scriptConn) IQ(_ context.Context, typ, from, to string, payload any) (*stanza.IQ, error) {
	call := iqCall{typ, from, to, payload}
	select {
	case c.iqs <- call:
	default: // a test that does not look at IQs
	}
	return c.answer(call)
}

// next waits for the next presence the manager sends.
func (c *scriptConn) next(t *testing.T) presence {
	t.Helper()
	select {
	case p := <-c.sent:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no presence sent within 5s")
		return presence{}
	}
}

// none checks that nothing was sent (all sends before the call are done:
// callers make sure the event that could send has been handled).
func (c *scriptConn) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-c.sent:
		t.Fatalf("unexpected presence sent: %+v", p)
	default:
	}
}

var (
	notAllowed = &StanzaError{Type: "cancel", Condition: "not-allowed"}
	result     = &stanza.IQ{}
)

// prosodyLike refuses kicks from outside, accepts those from inside.
func prosodyLike(c iqCall) (*stanza.IQ, error) {
	if c.typ == "set" && c.from == tOccupant {
		return result, nil
	}
	if c.typ == "get" {
		return nil, &StanzaError{Type: "cancel", Condition: "service-unavailable"}
	}
	return nil, notAllowed
}

func newTestManager(t *testing.T, c *scriptConn, joinTimeout time.Duration) *Manager {
	t.Helper()
	m := NewManager(c, Options{Domains: []string{tMUC}, Nick: "kickbot", Linger: time.Hour, JoinTimeout: joinTimeout,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.SessionChanged(true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// feed parses raw with gosrc.io/xmpp's parser and hands it to the manager.
func feed(t *testing.T, m *Manager, raw string) {
	t.Helper()
	p, err := stanza.NextPacket(xml.NewDecoder(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	m.HandlePacket(p)
}

func self(role string, statuses ...string) string {
	st := "<status code='110'/>"
	for _, s := range statuses {
		st += "<status code='" + s + "'/>"
	}
	return fmt.Sprintf("<presence xmlns='jabber:component:accept' from='%s' to='%s'><x xmlns='%s'><item affiliation='owner' role='%s'/>%s</x></presence>",
		tSelf, tOccupant, nsMUCUser, role, st)
}

func selfGone(statuses ...string) string {
	st := "<status code='110'/>"
	for _, s := range statuses {
		st += "<status code='" + s + "'/>"
	}
	return fmt.Sprintf("<presence xmlns='jabber:component:accept' type='unavailable' from='%s' to='%s'><x xmlns='%s'><item role='none'/>%s</x></presence>",
		tSelf, tOccupant, nsMUCUser, st)
}

func selfError(condition string) string {
	return fmt.Sprintf("<presence xmlns='jabber:component:accept' type='error' from='%s' to='%s'><error type='cancel'><%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
		tSelf, tOccupant, condition)
}

// kickAsync starts a kick of Bob and returns its outcome channel.
func kickAsync(m *Manager) <-chan error {
	done := make(chan error, 1)
	go func() { done <- m.Kick(context.Background(), mustRoom(tRoom), "Bob", "") }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the kick did not return within 5s")
		return nil
	}
}

// expectJoin waits for the entry presence of nick.
func expectJoin(t *testing.T, c *scriptConn, nick string) {
	t.Helper()
	p := c.next(t)
	if p.To != tRoom+"/"+nick || p.Type != "" || p.X == nil || p.From != tOccupant {
		t.Fatalf("want an entry presence to %s/%s, got %+v", tRoom, nick, p)
	}
}

func expectLeave(t *testing.T, c *scriptConn, to string) {
	t.Helper()
	p := c.next(t)
	if p.To != to || p.Type != "unavailable" || p.From != tOccupant {
		t.Fatalf("want a leave to %s, got %+v", to, p)
	}
}

func (m *Manager) stateOf(room string) roomState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[mustRoom(room)]; r != nil {
		return r.state
	}
	return stateOut
}

// enterRoom brings m into tRoom through a kick of Bob.
func enterRoom(t *testing.T, m *Manager, c *scriptConn) {
	t.Helper()
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	feed(t, m, self("moderator"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if s := m.stateOf(tRoom); s != stateIn {
		t.Fatalf("state %s after entering, want in", s)
	}
}

// out → joining → in: startEntry, entered.
func TestEntered(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	enterRoom(t, m, c)
	if m.Entries() != 1 || m.Rooms() != 1 {
		t.Errorf("Entries=%d Rooms=%d, want 1 and 1", m.Entries(), m.Rooms())
	}
}

// joining → out: every way an entry fails.
func TestEntryFailed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  []string // presences fed after the entry presence
		want    error
		text    string
		leaveTo string // a leave the manager must send
	}{
		{name: "error presence", answer: []string{selfError("not-authorized")}, want: ErrEntryRefused, text: "not-authorized"},
		{name: "no such room", answer: []string{selfError("item-not-found")}, want: ErrRoomNotFound},
		{name: "kicked while entering", answer: []string{selfGone("307")}, want: ErrEntryRefused, text: "kicked"},
		{name: "banned while entering", answer: []string{selfGone("301")}, want: ErrEntryRefused, text: "banned"},
		{name: "affiliation change", answer: []string{selfGone("321")}, want: ErrEntryRefused, text: "affiliation"},
		{name: "members only", answer: []string{selfGone("322")}, want: ErrEntryRefused, text: "affiliation"},
		{name: "service shut down", answer: []string{selfGone("332")}, want: ErrEntryRefused, text: "shut down"},
		{name: "room destroyed", answer: []string{fmt.Sprintf("<presence xmlns='jabber:component:accept' type='unavailable' from='%s'><x xmlns='%s'><item role='none'/><destroy/><status code='110'/></x></presence>", tSelf, nsMUCUser)},
			want: ErrEntryRefused, text: "destroyed"},
		{name: "entry created the room", answer: []string{self("moderator", "201")}, want: ErrRoomNotFound, leaveTo: tSelf},
		{name: "not a moderator", answer: []string{self("participant")}, want: ErrEntryRefused, text: `role "participant"`, leaveTo: tSelf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newScriptConn(prosodyLike)
			m := newTestManager(t, c, 5*time.Second)
			done := kickAsync(m)
			expectJoin(t, c, "kickbot")
			for _, p := range tc.answer {
				feed(t, m, p)
			}
			if s := m.stateOf(tRoom); s != stateOut {
				t.Errorf("state %s right after the answer, want out", s)
			}
			err := wait(t, done)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v with %q", err, tc.want, tc.text)
			}
			if tc.leaveTo != "" {
				expectLeave(t, c, tc.leaveTo)
			}
			c.none(t)
			if m.Rooms() != 0 {
				t.Errorf("Rooms()=%d after a failed entry", m.Rooms())
			}
		})
	}
}

// feedBurst hands presences to the manager as one burst: no other
// goroutine sees the state between them.
func feedBurst(t *testing.T, m *Manager, raws ...string) {
	t.Helper()
	var leaves []*presence
	m.mu.Lock()
	for _, raw := range raws {
		p, err := stanza.NextPacket(xml.NewDecoder(strings.NewReader(raw)))
		if err != nil {
			m.mu.Unlock()
			t.Fatalf("parse %s: %v", raw, err)
		}
		leaves = append(leaves, m.handlePresenceLocked(p.(stanza.Presence)))
	}
	m.mu.Unlock()
	for _, l := range leaves {
		if l != nil {
			m.send(*l)
		}
	}
}

// The review's case: entered and removed in the same burst. It is a failed
// entry, the room is not believed entered, and the next kick enters again
// (before the fix, every later kick answered 403 without entering).
func TestKickedInTheSameBurstAsTheEntry(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	for round := range 3 {
		done := kickAsync(m)
		expectJoin(t, c, "kickbot")
		feedBurst(t, m, self("moderator"), selfGone("307"))
		if err := wait(t, done); !errors.Is(err, ErrEntryRefused) || !strings.Contains(err.Error(), "kicked") {
			t.Fatalf("round %d: got %v, want ErrEntryRefused (kicked)", round, err)
		}
		if m.Rooms() != 0 {
			t.Fatalf("round %d: Rooms()=%d, want 0", round, m.Rooms())
		}
	}
	c.none(t)
	enterRoom(t, m, c) // and when the room lets us stay, we are in
}

// The same when the removal comes after the caller saw the entry succeed
// and sent its kick from inside: the kick is refused (the server answers it
// after the removal, in stream order), the room was already marked left, and
// the one re-entry is removed too: a failed entry, and we are not in.
func TestKickedRightAfterTheEntry(t *testing.T) {
	gate := make(chan struct{}, 1)
	c := newScriptConn(func(c iqCall) (*stanza.IQ, error) {
		if c.from == tOccupant {
			<-gate // the reply comes after the presences before it
		}
		return nil, notAllowed
	})
	m := newTestManager(t, c, 5*time.Second)
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	feed(t, m, self("moderator"))
	for call := range c.iqs {
		if call.from == tOccupant {
			break // the kick from inside is on its way
		}
	}
	feed(t, m, selfGone("307"))
	if m.Rooms() != 0 {
		t.Fatal("still in after being kicked")
	}
	gate <- struct{}{}
	expectJoin(t, c, "kickbot")
	feedBurst(t, m, self("moderator"), selfGone("307"))
	if err := wait(t, done); !errors.Is(err, ErrEntryRefused) {
		t.Fatalf("got %v, want ErrEntryRefused", err)
	}
	if m.Rooms() != 0 {
		t.Fatalf("Rooms()=%d, want 0", m.Rooms())
	}
}

// A plain unavailable presence while joining is the echo of an earlier
// leave: it does not end the entry.
func TestEchoOfEarlierLeaveIgnoredWhileJoining(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	feed(t, m, selfGone())
	if s := m.stateOf(tRoom); s != stateJoining {
		t.Fatalf("state %s after a plain unavailable, want joining", s)
	}
	feed(t, m, self("moderator"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

// joining → joining: a nick conflict retries once with a suffix; a second
// conflict fails the entry.
func TestRetryNick(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	feed(t, m, selfError("conflict"))
	p := c.next(t)
	nick := strings.TrimPrefix(p.To, tRoom+"/")
	if !strings.HasPrefix(nick, "kickbot-") || p.X == nil {
		t.Fatalf("second entry: %+v", p)
	}
	feed(t, m, self("moderator")) // from the old nick: another occupant now
	if s := m.stateOf(tRoom); s != stateJoining {
		t.Fatalf("a presence from the old nick changed the state to %s", s)
	}
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' type='error' from='%s/%s'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>", tRoom, nick))
	if err := wait(t, done); !errors.Is(err, ErrEntryRefused) || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("got %v, want ErrEntryRefused (conflict)", err)
	}
	if m.stateOf(tRoom) != stateOut {
		t.Fatal("not out after two conflicts")
	}
}

// joining → out on JoinTimeout; a late answer to that entry is left once,
// and only a real one.
func TestEntryTimeoutAndLateAnswer(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 20*time.Millisecond) // the timeout under test, not a sleep
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	if err := wait(t, done); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("got %v, want ErrNoAnswer", err)
	}
	expectLeave(t, c, tSelf)
	// Not ours: another room, another nick, the room's bare JID, a stranger.
	for _, from := range []string{"other@" + tMUC + "/kickbot", tRoom + "/Bob", tRoom, "evil@example.org/kickbot"} {
		feed(t, m, strings.Replace(self("moderator"), tSelf, from, 1))
	}
	c.none(t)
	feed(t, m, self("moderator")) // the late answer
	expectLeave(t, c, tSelf)
	feed(t, m, self("moderator")) // left once only
	c.none(t)
}

// A status 110 from anyone does not make us send anything: only presences
// from the room's occupant JID for our nick are ours.
func TestForgedSelfPresences(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	forged := []string{
		// Strangers claiming to be about us, to the bare and the full JID.
		"<presence xmlns='jabber:component:accept' from='evil@example.org/x' to='kick.example.org'><x xmlns='" + nsMUCUser + "'><item role='moderator'/><status code='110'/></x></presence>",
		"<presence xmlns='jabber:component:accept' from='evil@example.org/x' to='" + tOccupant + "'><x xmlns='" + nsMUCUser + "'><item role='moderator'/><status code='110'/></x></presence>",
		// A room we never tried to enter.
		strings.Replace(self("moderator"), tSelf, "never@"+tMUC+"/kickbot", 1),
		// Junk in muc#user.
		"<presence xmlns='jabber:component:accept' to='kick.example.org'><x xmlns='" + nsMUCUser + "'><status code='abc'/></x></presence>",
	}
	for _, p := range forged {
		feed(t, m, p)
	}
	c.none(t)

	enterRoom(t, m, c)
	// While in: 110 and 307 from the room's bare JID or another occupant is
	// not about us.
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' type='unavailable' from='%s'><x xmlns='%s'><status code='110'/><status code='307'/></x></presence>", tRoom, nsMUCUser))
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' type='unavailable' from='%s/Bob'><x xmlns='%s'><item role='none'/><status code='110'/><status code='307'/></x></presence>", tRoom, nsMUCUser))
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' from='evil@example.org/kickbot'><x xmlns='%s'><item role='participant'/><status code='110'/></x></presence>", nsMUCUser))
	if m.stateOf(tRoom) != stateIn {
		t.Fatal("a presence not from our occupant JID changed our state")
	}
	c.none(t)
}

// in → out: our own unavailable presence.
func TestLeftWhenRemoved(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	enterRoom(t, m, c)
	feed(t, m, selfGone("307"))
	if m.stateOf(tRoom) != stateOut || m.Rooms() != 0 {
		t.Fatal("still in after being kicked")
	}
	c.none(t) // removed: nothing to leave
	done := kickAsync(m)
	expectJoin(t, c, "kickbot") // enters again
	feed(t, m, self("moderator"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

// in → out: demoted while in. We leave; the next kick enters again.
func TestDemotedWhileIn(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	enterRoom(t, m, c)
	feed(t, m, self("moderator")) // a presence update: ignored
	if m.stateOf(tRoom) != stateIn {
		t.Fatal("a moderator presence update changed the state")
	}
	feed(t, m, self("participant"))
	if m.stateOf(tRoom) != stateOut {
		t.Fatal("still in after a demotion")
	}
	expectLeave(t, c, tSelf)
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	feed(t, m, self("participant"))
	if err := wait(t, done); !errors.Is(err, ErrEntryRefused) {
		t.Fatalf("got %v, want ErrEntryRefused", err)
	}
}

// in → out → joining: a kick from inside refused with not-allowed (or
// forbidden) marks the room left and enters once more; a second refusal is
// the answer.
func TestNotAllowedFromInsideEntersOnceMore(t *testing.T) {
	for _, tc := range []struct {
		name     string
		refusals int32 // kicks from inside refused
		cond     string
		want     error
	}{
		{"refused once", 1, "not-allowed", nil},
		{"forbidden once", 1, "forbidden", nil},
		{"refused twice", 2, "not-allowed", ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refusals atomic.Int32
			c := newScriptConn(func(call iqCall) (*stanza.IQ, error) {
				switch {
				case call.from != tOccupant:
					return nil, notAllowed // from outside
				case refusals.Add(-1) < 0:
					return result, nil
				}
				return nil, &StanzaError{Type: "cancel", Condition: tc.cond}
			})
			m := newTestManager(t, c, 5*time.Second)
			enterRoom(t, m, c)
			refusals.Store(tc.refusals)
			done := kickAsync(m)
			expectJoin(t, c, "kickbot") // the one re-entry
			feed(t, m, self("moderator"))
			if err := wait(t, done); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			c.none(t) // no third entry
			if m.Entries() != 2 {
				t.Errorf("Entries()=%d, want 2", m.Entries())
			}
		})
	}
}

// in → out: the linger time passed without a kick.
func TestLingerExpires(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := NewManager(c, Options{Domains: []string{tMUC}, Nick: "kickbot", Linger: time.Millisecond, JoinTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.SessionChanged(true)
	defer m.Close(context.Background())
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	feed(t, m, self("moderator"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	expectLeave(t, c, tSelf) // the event: the linger timer fired
	if m.Rooms() != 0 {
		t.Fatal("still counted in after leaving")
	}
}

// A linger timer that fired while a kick re-armed it must not leave the
// room: the timer's generation is outdated.
func TestLingerExpiryRacingAKick(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	enterRoom(t, m, c)
	m.mu.Lock()
	r := m.rooms[mustRoom(tRoom)]
	fired := r.idle.gen // the timer that fires now…
	m.mu.Unlock()
	// …while a kick acquires and releases the room before it gets the lock.
	if err := m.Kick(context.Background(), mustRoom(tRoom), "Eve", ""); err != nil {
		t.Fatal(err)
	}
	m.holdEnded(r, fired)
	if m.stateOf(tRoom) != stateIn {
		t.Fatal("an outdated linger timer left the room")
	}
	c.none(t)
	m.mu.Lock()
	current := r.idle.gen
	m.mu.Unlock()
	m.holdEnded(r, current)
	if m.stateOf(tRoom) != stateOut {
		t.Fatal("the current linger timer did not leave the room")
	}
	expectLeave(t, c, tSelf)
}

// Many kicks with a linger of a microsecond: expiry races every kick, and
// every kick still succeeds (entering again when the room was left).
func TestLingerExpiryRacingManyKicks(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := NewManager(c, Options{Domains: []string{tMUC}, Nick: "kickbot", Linger: time.Microsecond, JoinTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.SessionChanged(true)
	// The room: answers every entry presence at once, as a server would.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case p := <-c.sent:
				if p.Type == "" {
					feed(t, m, self("moderator"))
				}
			case <-stop:
				return
			}
		}
	}()
	for i := range 200 {
		if err := m.Kick(context.Background(), mustRoom(tRoom), "Bob", ""); err != nil {
			t.Fatalf("kick %d: %v", i, err)
		}
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
}

// joining → out when the stream drops mid-entry; after reconnecting, a
// kick enters again.
func TestStreamDropsMidEntry(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	m.SessionChanged(false)
	if err := wait(t, done); !errors.Is(err, ErrStreamLost) {
		t.Fatalf("got %v, want ErrStreamLost", err)
	}
	if m.stateOf(tRoom) != stateOut {
		t.Fatal("not out after the stream dropped")
	}
	// Refused from outside; then no stream to enter with, and no entry.
	if err := m.Kick(context.Background(), mustRoom(tRoom), "Bob", ""); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) {
		t.Fatalf("kick while down: %v, want not connected", err)
	}
	c.none(t)
	m.SessionChanged(true)
	enterRoom(t, m, c)
}

// in → out when the stream drops.
func TestStreamDropsWhileIn(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	enterRoom(t, m, c)
	m.SessionChanged(false)
	if m.Rooms() != 0 {
		t.Fatal("still in after the stream dropped")
	}
	c.none(t) // nothing to send on a dead stream
}

// A failed Send of the entry presence means a lost stream (503), not a
// refusal by the server.
func TestEntrySendFails(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	err := errors.New("write tcp: broken pipe")
	c.sendErr.Store(&err)
	if got := m.Kick(context.Background(), mustRoom(tRoom), "Bob", ""); !errors.Is(got, ErrStreamLost) {
		t.Fatalf("got %v, want ErrStreamLost", got)
	}
	if m.stateOf(tRoom) != stateOut {
		t.Fatal("not out after a failed entry presence")
	}
}

// joining → out on Close: the waiting kick gets ErrClosed, Close leaves the
// room the entry may reach, waits for the entry, and no entry starts after.
func TestCloseDuringEntry(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := NewManager(c, Options{Domains: []string{tMUC}, Nick: "kickbot", Linger: time.Hour, JoinTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.SessionChanged(true)
	done := kickAsync(m)
	expectJoin(t, c, "kickbot")
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	expectLeave(t, c, tSelf) // Close's
	expectLeave(t, c, tSelf) // the entry's own, after its entry presence
	feed(t, m, self("moderator"))
	c.none(t)
	if err := m.Kick(context.Background(), mustRoom(tRoom), "Bob", ""); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("kick after Close: %v, want ErrClosed, of class ErrUnavailable", err)
	}
	if m.Rooms() != 0 {
		t.Fatal("in a room after Close")
	}
}

// Kicks racing Close: no entry starts after Close (the race detector and
// the WaitGroup would see it), and every kick ends.
func TestCloseRacingKicks(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := NewManager(c, Options{Domains: []string{tMUC}, Nick: "kickbot", Linger: time.Hour, JoinTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.SessionChanged(true)
	stop := make(chan struct{})
	go func() { // answer entries at once
		for {
			select {
			case p := <-c.sent:
				if p.Type == "" {
					room, _, _ := strings.Cut(p.To, "/")
					feed(t, m, strings.Replace(self("moderator"), tRoom, room, 1))
				}
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := m.Kick(context.Background(), mustRoom(fmt.Sprintf("r%d@%s", i, tMUC)), "Bob", "")
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("kick %d: %v", i, err)
			}
		}()
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rooms {
		if r.state == stateJoining {
			t.Errorf("%s joining after Close", r.jid)
		}
	}
}

// Each entry attempt owns its outcome: a caller of a failed attempt gets
// that failure even when the next attempt has already succeeded.
func TestEachEntryOwnsItsOutcome(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newTestManager(t, c, 5*time.Second)
	r, err := m.acquire(mustRoom(tRoom))
	if err != nil {
		t.Fatal(err)
	}
	defer m.release(r)
	m.mu.Lock()
	first := m.startEntry(r)
	m.mu.Unlock()
	expectJoin(t, c, "kickbot")
	feed(t, m, selfError("not-authorized"))
	<-first.done
	// The next attempt starts and succeeds before the first's caller looks.
	second := make(chan error, 1)
	go func() { _, _, err := m.enter(context.Background(), r); second <- err }()
	expectJoin(t, c, "kickbot")
	feed(t, m, self("moderator"))
	if err := wait(t, second); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(first.err, ErrEntryRefused) {
		t.Fatalf("the first attempt's outcome became %v", first.err)
	}
}

// The leaves HandlePacket hands to the outbox are sent by a goroutine Close
// waits for: once Close has returned, a leave queued before it is sent and
// the sender has ended.
func TestCloseWaitsForQueuedLeaves(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := NewManager(c, Options{Domains: []string{tMUC}, Nick: "kickbot", Linger: time.Hour, JoinTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.SessionChanged(true)
	enterRoom(t, m, c)
	feed(t, m, self("participant")) // demoted: we leave, through the outbox
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.sent:
	default:
		t.Fatal("Close returned before the sender ended")
	}
	select {
	case p := <-c.sent:
		if p.To != tSelf || p.Type != "unavailable" {
			t.Fatalf("want the leave of the demotion, got %+v", p)
		}
	default:
		t.Fatal("the queued leave was not sent when Close returned")
	}
	c.none(t) // the room was out already: Close has nothing more to leave
}
