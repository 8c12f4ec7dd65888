package muc

// Unit tests of the room policy (hold.go: settle, spend, evict, arm; events.go: evictOver):
// when an idle room is left. They synchronise on events (a presence sent, a
// kick returned); a check that nothing was sent follows a synchronous
// HandlePacket, and the timers that could send are an hour long.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

func newPolicyManager(t *testing.T, c *scriptConn, opts Options) *Manager {
	t.Helper()
	opts.Domains, opts.Nick, opts.JoinTimeout = []string{tMUC}, "kickbot", 5*time.Second
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m := NewManager(c, opts)
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

func roomN(i int) string { return fmt.Sprintf("r%d@%s", i, tMUC) }

// kickIn kicks Bob from room and returns when the kick did.
func kickIn(t *testing.T, m *Manager, room string) {
	t.Helper()
	if err := m.Kick(context.Background(), mustRoom(room), "Bob", ""); err != nil {
		t.Fatalf("kick in %s: %v", room, err)
	}
}

// enterWith enters room, where the occupants with the given nicks are.
func enterWith(t *testing.T, m *Manager, c *scriptConn, room string, nicks ...string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.Kick(context.Background(), mustRoom(room), "Bob", "") }()
	p := c.next(t)
	if p.To != room+"/kickbot" || p.Type != "" {
		t.Fatalf("want an entry presence to %s/kickbot, got %+v", room, p)
	}
	for _, n := range nicks {
		feed(t, m, occupantPresence(room, n, ""))
	}
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' from='%s/kickbot' to='%s'><x xmlns='%s'><item affiliation='owner' role='moderator'/><status code='110'/></x></presence>",
		room, tOccupant, nsMUCUser))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

func occupantPresence(room, nick, typ string) string {
	return fmt.Sprintf("<presence xmlns='jabber:component:accept' from='%s/%s' to='%s' type='%s'><x xmlns='%s'><item affiliation='none' role='participant' jid='%s@example.org/r'/></x></presence>",
		room, nick, tOccupant, typ, nsMUCUser, nick)
}

func groupchat(room, nick string) string {
	return fmt.Sprintf("<message xmlns='jabber:component:accept' type='groupchat' from='%s/%s' to='%s'><body>hi</body></message>",
		room, nick, tOccupant)
}

// A quiet room is held after its last kick, however long Linger is: staying
// costs the server nothing.
func TestAdaptiveStaysInQuietRoom(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newPolicyManager(t, c, Options{Policy: PolicyAdaptive, Linger: 0, MaxIdle: time.Hour})
	enterWith(t, m, c, roomN(1), "Alice", "Carol")
	// Below the budget (3 stanzas per occupant: 6): one change of each.
	feed(t, m, occupantPresence(roomN(1), "Alice", "unavailable"))
	feed(t, m, occupantPresence(roomN(1), "Alice", ""))
	feed(t, m, groupchat(roomN(1), "Carol"))
	c.none(t)
	if m.Rooms() != 1 {
		t.Fatalf("Rooms() = %d, want 1", m.Rooms())
	}
	kickIn(t, m, roomN(1)) // warm: no entry
	if m.Entries() != 1 {
		t.Fatalf("Entries() = %d, want 1", m.Entries())
	}
}

// A room whose traffic since its last kick passed what entering again costs
// is left (Linger 0: at once); the stanza that crosses the budget is the
// event.
func TestAdaptiveLeavesOverBudget(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newPolicyManager(t, c, Options{Policy: PolicyAdaptive, Linger: 0, MaxIdle: time.Hour})
	enterWith(t, m, c, roomN(1), "Alice", "Carol")
	for range 3*2 - 1 {
		feed(t, m, groupchat(roomN(1), "Carol"))
	}
	c.none(t)
	feed(t, m, groupchat(roomN(1), "Alice")) // the 6th
	expectLeave(t, c, roomN(1)+"/kickbot")
	if m.Rooms() != 0 {
		t.Fatalf("Rooms() = %d after leaving, want 0", m.Rooms())
	}
}

// A kick starts a new budget: stanzas before it do not count after it.
func TestAdaptiveKickResetsBudget(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newPolicyManager(t, c, Options{Policy: PolicyAdaptive, Linger: 0, MaxIdle: time.Hour})
	enterWith(t, m, c, roomN(1), "Alice")
	feed(t, m, groupchat(roomN(1), "Alice"))
	feed(t, m, groupchat(roomN(1), "Alice"))
	kickIn(t, m, roomN(1))
	feed(t, m, groupchat(roomN(1), "Alice"))
	feed(t, m, groupchat(roomN(1), "Alice"))
	c.none(t)
	feed(t, m, groupchat(roomN(1), "Alice")) // 3 since the kick: the budget of 1 occupant
	expectLeave(t, c, roomN(1)+"/kickbot")
}

// Over budget within Linger: the room stays until Linger has passed.
func TestAdaptiveOverBudgetWaitsForLinger(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newPolicyManager(t, c, Options{Policy: PolicyAdaptive, Linger: time.Hour, MaxIdle: 2 * time.Hour})
	enterWith(t, m, c, roomN(1), "Alice")
	for range 10 {
		feed(t, m, groupchat(roomN(1), "Alice"))
	}
	c.none(t)
	if m.stateOf(roomN(1)) != stateIn {
		t.Fatal("left before Linger passed")
	}
	m.mu.Lock()
	over := m.rooms[mustRoom(roomN(1))].idle.overBudget
	m.mu.Unlock()
	if !over {
		t.Fatal("the room is not marked over its budget")
	}
}

// MaxIdle after the last kick, a room is left however quiet it is.
func TestAdaptiveIdleExpiry(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newPolicyManager(t, c, Options{Policy: PolicyAdaptive, Linger: 0, MaxIdle: time.Millisecond})
	enterWith(t, m, c, roomN(1))
	expectLeave(t, c, roomN(1)+"/kickbot") // the event: the idle timer fired
	if m.Rooms() != 0 {
		t.Fatalf("Rooms() = %d after leaving, want 0", m.Rooms())
	}
}

// Past MaxRooms, the idle room whose last kick is oldest is left when
// another is entered.
func TestMaxRoomsEvictsLeastRecentlyUsed(t *testing.T) {
	for _, policy := range []Policy{PolicyAdaptive, PolicyLinger} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			c := newScriptConn(prosodyLike)
			m := newPolicyManager(t, c, Options{Policy: policy, Linger: time.Hour, MaxIdle: time.Hour, MaxRooms: 2})
			enterWith(t, m, c, roomN(1))
			enterWith(t, m, c, roomN(2))
			kickIn(t, m, roomN(1)) // r1 is now the most recently used
			c.none(t)

			done := make(chan error, 1)
			go func() { done <- m.Kick(context.Background(), mustRoom(roomN(3)), "Bob", "") }()
			// The entry into r3 and the leave of r2, in either order.
			got := map[string]string{}
			for range 2 {
				p := c.next(t)
				got[p.Type] = p.To
			}
			if got[""] != roomN(3)+"/kickbot" || got["unavailable"] != roomN(2)+"/kickbot" {
				t.Fatalf("want an entry into r3 and a leave of r2, got %v", got)
			}
			feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' from='%s/kickbot' to='%s'><x xmlns='%s'><item role='moderator'/><status code='110'/></x></presence>",
				roomN(3), tOccupant, nsMUCUser))
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			for i, want := range []roomState{stateIn, stateOut, stateIn} {
				if s := m.stateOf(roomN(i + 1)); s != want {
					t.Errorf("r%d is %s, want %s", i+1, s, want)
				}
			}
			if m.Rooms() != 2 {
				t.Errorf("Rooms() = %d, want 2", m.Rooms())
			}
		})
	}
}

// A room in use is never evicted: the cap is exceeded until its kick ends,
// and then the least recently used idle room goes.
func TestMaxRoomsSparesRoomsInUse(t *testing.T) {
	c := newScriptConn(prosodyLike)
	m := newPolicyManager(t, c, Options{Policy: PolicyAdaptive, Linger: time.Hour, MaxIdle: time.Hour, MaxRooms: 1})
	enterWith(t, m, c, roomN(1))
	// A second room: r1 is idle, so it is evicted when r2's entry starts.
	done := make(chan error, 1)
	go func() { done <- m.Kick(context.Background(), mustRoom(roomN(2)), "Bob", "") }()
	got := map[string]string{}
	for range 2 {
		p := c.next(t)
		got[p.Type] = p.To
	}
	if got["unavailable"] != roomN(1)+"/kickbot" {
		t.Fatalf("want a leave of r1, got %v", got)
	}
	// While r2 is joining (in use), a third room: nothing idle to evict.
	done3 := make(chan error, 1)
	go func() { done3 <- m.Kick(context.Background(), mustRoom(roomN(3)), "Bob", "") }()
	expectJoinTo(t, c, roomN(3))
	c.none(t)
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' from='%s/kickbot' to='%s'><x xmlns='%s'><item role='moderator'/><status code='110'/></x></presence>",
		roomN(2), tOccupant, nsMUCUser))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	// r2's kick ended while r3 is still joining: r2 is the idle one, evicted.
	expectLeave(t, c, roomN(2)+"/kickbot")
	feed(t, m, fmt.Sprintf("<presence xmlns='jabber:component:accept' from='%s/kickbot' to='%s'><x xmlns='%s'><item role='moderator'/><status code='110'/></x></presence>",
		roomN(3), tOccupant, nsMUCUser))
	if err := wait(t, done3); err != nil {
		t.Fatal(err)
	}
	if m.stateOf(roomN(3)) != stateIn || m.Rooms() != 1 {
		t.Fatalf("r3 is %s and Rooms() = %d, want in and 1", m.stateOf(roomN(3)), m.Rooms())
	}
}

func expectJoinTo(t *testing.T, c *scriptConn, room string) {
	t.Helper()
	p := c.next(t)
	if p.To != room+"/kickbot" || p.Type != "" {
		t.Fatalf("want an entry presence to %s/kickbot, got %+v", room, p)
	}
}
