package muc

import (
	"context"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// The Manager's side of the room state machine (room.go): it finds the room
// an event is about, takes m.mu, lets the room decide, applies the change to
// the set of rooms and sends what must be sent once the lock is released.

// HandlePacket takes the stanzas that reach the component and are not
// replies to its IQs. It runs on the component's read goroutine and never
// blocks: a leave it must send goes through the outbox.
func (m *Manager) HandlePacket(p stanza.Packet) {
	switch p := p.(type) {
	case stanza.Presence:
		if leave := m.handlePresence(p); leave != nil {
			m.out.put(*leave)
		}
	case stanza.Message:
		if res := mamResultOf(p); res != nil {
			m.archiveResult(p.From, res) // an answer to a search of ours, maybe
		} else if m.opts.Policy == PolicyAdaptive {
			m.roomMessage(p) // what staying costs
		}
	}
	// Subjects without a from we know, IQs: not our business.
}

// handlePresence takes m.mu for handlePresenceLocked and releases it even
// if that panics: the component recovers a handler's panic, and a lock held
// for ever would hang every later kick.
func (m *Manager) handlePresence(pres stanza.Presence) *presence {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.handlePresenceLocked(pres)
}

// handlePresenceLocked routes a presence to the room event it means, with
// m.mu held, and returns a leave presence to send, if any.
func (m *Manager) handlePresenceLocked(pres stanza.Presence) *presence {
	from, ok := jid.FromServer(pres.From)
	nick := from.Resource()
	if !ok || nick == "" {
		return nil // not from an occupant JID
	}
	x := mucUser(pres)
	r := m.rooms[from.Bare()]
	switch {
	case r == nil || r.state == stateOut:
		return m.lateAnswer(from, pres)
	case nick != r.nick:
		r.otherPresence(nick, pres, x)
		return nil
	}
	return m.apply(r, r.ownPresence(pres, x))
}

// roomMessage counts a message from a room against the cost of staying
// there.
func (m *Manager) roomMessage(msg stanza.Message) {
	from, ok := jid.FromServer(msg.From)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[from.Bare()]; r != nil {
		r.message()
	}
}

// lateAnswer leaves a room that let us in after we gave up entering it.
func (m *Manager) lateAnswer(from jid.JID, pres stanza.Presence) *presence {
	if pres.Type != "" || m.closed {
		return nil
	}
	if _, ok := m.late[from]; !ok {
		return nil // not an answer to an entry of ours
	}
	delete(m.late, from)
	return &presence{From: m.self, To: from.String(), Type: "unavailable"}
}

// rememberLate records an entry given up on, so that a late answer is left.
func (m *Manager) rememberLate(occupantJID jid.JID) {
	now := time.Now()
	for k, t := range m.late {
		if now.Sub(t) > lateWindow {
			delete(m.late, k)
		}
	}
	if len(m.late) >= maxLate {
		return
	}
	m.late[occupantJID] = now
}

// apply does what a room's change asks of the set of rooms, with m.mu held,
// and returns the leave presence to send once the lock is released.
func (m *Manager) apply(r *room, c change) *presence {
	if c.entered {
		m.entries.Add(1)
	}
	if !c.gaveUp.IsZero() {
		m.rememberLate(c.gaveUp)
	}
	if c.unused {
		switch r.state {
		case stateOut:
			if m.rooms[r.jid] == r {
				delete(m.rooms, r.jid)
			}
		case stateIn:
			m.evictOver()
		}
	}
	return c.leave
}

// locked runs the room event ev with m.mu held, applies its change, and
// hands a leave to the outbox.
func (m *Manager) locked(r *room, ev func() change) {
	m.mu.Lock()
	leave := m.apply(r, ev())
	m.mu.Unlock()
	if leave != nil {
		m.out.put(*leave)
	}
}

// holdEnded is what a room's hold timer calls (roomConfig.holdEnded).
func (m *Manager) holdEnded(r *room, gen uint64) {
	m.locked(r, func() change { return r.holdEnded(gen) })
}

// refusedInside: a kick from inside r, through entry e, was refused.
func (m *Manager) refusedInside(r *room, e *entry) {
	m.locked(r, func() change { return r.refusedInside(e) })
}

// evictOver leaves, at once, the least recently used idle rooms while more
// than MaxRooms rooms are held (entered or being entered), with m.mu held.
// Rooms in use stay: the cap is exceeded until their kicks end.
func (m *Manager) evictOver() {
	if m.opts.MaxRooms <= 0 || len(m.rooms) <= m.opts.MaxRooms {
		return
	}
	held := 0
	for _, r := range m.rooms {
		if r.state != stateOut && !r.idle.evicted {
			held++
		}
	}
	for ; held > m.opts.MaxRooms; held-- {
		var lru *room
		for _, r := range m.rooms {
			if r.state == stateIn && r.idle.users == 0 && !r.idle.evicted && (lru == nil || r.idle.since.Before(lru.idle.since)) {
				lru = r
			}
		}
		if lru == nil {
			return // every room held is in use
		}
		m.log.Debug("muc: too many rooms: leaving the least recently used", "room", lru.jid, "max_rooms", m.opts.MaxRooms)
		lru.evict()
	}
}

// SessionChanged learns that the component's stream came up or went down.
// After a reconnect the component is in no room: the server dropped it, or
// keeps a ghost that a new entry replaces.
func (m *Manager) SessionChanged(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.up = up
	m.server = nil // the next session may be another server
	if up {
		return
	}
	for _, r := range m.rooms {
		m.apply(r, r.streamDown()) // nothing to send on a dead stream
	}
}

// Close leaves every room and refuses further kicks. It waits for entries in
// progress and for the outbox to be sent until ctx ends.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.cancel() // ends the sender once the outbox is empty
	var leaves []presence
	for _, r := range m.rooms {
		if leave := m.apply(r, r.close()); leave != nil {
			leaves = append(leaves, *leave)
		}
	}
	m.mu.Unlock()

	for _, p := range leaves {
		if err := m.conn.Send(p); err != nil {
			m.log.Warn("muc: cannot leave room", "room", p.To, "err", err)
		}
	}
	done := make(chan struct{})
	go func() { m.joins.Wait(); <-m.sent; close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// outbox holds the presences to send from where sending could block (the
// read goroutine, a hold timer): sendLoop sends them in order.
type outbox struct {
	mu   sync.Mutex
	q    []presence
	wake chan struct{} // capacity 1
}

func (o *outbox) put(p presence) {
	o.mu.Lock()
	o.q = append(o.q, p)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) take() []presence {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.q
	o.q = nil
	return q
}

// sendLoop sends what the outbox holds until Close, then what is left;
// NewManager starts it and Close waits for it (m.sent).
func (m *Manager) sendLoop() {
	defer close(m.sent)
	for {
		select {
		case <-m.out.wake:
		case <-m.ctx.Done():
			for _, p := range m.out.take() {
				m.send(p)
			}
			return
		}
		for _, p := range m.out.take() {
			m.send(p)
		}
	}
}

func (m *Manager) send(p presence) {
	if err := m.conn.Send(p); err != nil {
		m.log.Debug("muc: cannot send presence", "to", p.To, "err", err)
	}
}
