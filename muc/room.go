package muc

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// The lifecycle of a room, as the component takes part in it. A room the
// manager has no record of is out.
//
//	            startEntry: a kick needs a present moderator
//	┌─────┐ ───────────────────────────────────────────────▶ ┌─────────┐ ◀─┐ retryNick:
//	│ out │                                                  │ joining │   │ nick taken,
//	└─────┘ ◀─────────────────────────────────────────────── └─────────┘ ──┘ once
//	   ▲     entryFailed: an error presence; removed              │
//	   │     (307/301/321/322/332, destroyed); the entry          │ entered: our own
//	   │     created the room (201); role not moderator;          │ presence with
//	   │     no answer within JoinTimeout; stream down; Close     │ role moderator
//	   │                                                          ▼
//	   │     left: our own unavailable presence (removed or  ┌────────┐
//	   └──────── a plain leave); demoted; a kick from inside │   in   │
//	         refused (refusedInside); the room policy's hold └────────┘
//	         ended or the room was evicted (expire); stream
//	         down; Close
//
// Every transition is one function below and runs with Manager.mu held; I/O
// (sending presences, asking the server's version) happens outside the lock.
// Each entry attempt is an *entry that owns its outcome: a caller waits on
// the entry it found, never on whichever comes next.
//
// What each event does in each state; anything not listed is ignored on
// purpose:
//
//   - Our own presence is a presence from the room's occupant JID for our
//     current nick (room@service/nick); nothing else is believed to be about
//     us, whatever status codes (110) it carries.
//   - joining: an error presence fails the entry (conflict: retryNick once);
//     an unavailable presence with a removal code or <destroy/> fails it; a
//     plain unavailable presence is the echo of an earlier leave and is
//     ignored; an available presence with 201 fails it (we must not create
//     rooms: leave again, which destroys it); with role moderator: entered;
//     any other role fails it (leave again, and name the server's fix).
//   - in: an unavailable presence: left; an available presence whose role is
//     not moderator: left (demoted; we leave too); with role moderator: a
//     presence update, ignored; an error presence: ignored (not an answer to
//     anything we sent while in).
//   - out: our own available presence from a room we gave up entering
//     (recorded in Manager.late for lateWindow) is left once; anything else is
//     ignored.
//   - Other occupants' presences (room@service/other) update the nick → real
//     JID map while joining or in; ignored while out.
//   - Presences of other types (probe, subscribe…), presences from a bare
//     room JID, messages, subjects and IQs: no transition in any state
//     (messages from a room that is in are counted, below).
//   - A kick from inside answered not-allowed or forbidden: in → out
//     (refusedInside) if the room is still in through the same entry; the
//     kick then enters once more (Manager.inside).
//   - JoinTimeout without a verdict: joining → out (entryFailed, with a
//     leave); the hold timer: in → out (expire, with a leave) unless a kick
//     re-armed it since (lingerGen).
//   - While in and idle (no kick using the room), every presence of another
//     occupant and every message from the room is a stanza the server sends
//     the component only because it stays: under PolicyAdaptive it is
//     counted (spend), and a room that has cost reentryCost stanzas per
//     occupant since its last kick is left once Linger has passed.
//   - The stream goes down (SessionChanged(false)): joining → out, in → out,
//     nothing sent; it comes up: no room changes, the server's software is
//     asked again when needed.
//   - Close: joining → out and in → out, each with a leave; no entry starts
//     after it.
//
// The hold: what settle arms when the last kick in a room that is in ends.
// PolicyLinger: Linger. PolicyAdaptive: MaxIdle (or Linger, if longer),
// shortened to what is left of Linger once the room is over its budget
// (overBudget). Either way, when more than MaxRooms rooms are held, the idle
// room whose last kick is oldest is left at once (evictOver), and a room in
// use is never evicted.
type roomState int

const (
	stateOut roomState = iota
	stateJoining
	stateIn
)

func (s roomState) String() string { return [...]string{"out", "joining", "in"}[s] }

// lateWindow is how long a late answer to an entry we gave up on is still
// recognised (and left).
const lateWindow = time.Minute

// maxLate bounds the record of entries given up on.
const maxLate = 1024

// room is what the manager knows of one room; guarded by Manager.mu.
type room struct {
	jid   jid.JID
	state roomState
	entry *entry // the current attempt while joining; the one that got us in while in
	nick  string // our nickname there, while joining or in
	users int    // kicks in progress, plus a running entry
	// linger leaves the room after a while without kicks; lingerGen tells
	// the timer that fired from one re-armed since.
	linger    *time.Timer
	lingerGen uint64
	// Since the last kick ended (set by settle while in): when, the stanzas
	// the room sent us meanwhile, whether they passed the room's re-entry
	// cost, and whether evictOver chose the room to leave.
	idleSince  time.Time
	spent      int
	overBudget bool
	evicted    bool
	// occupants maps the nicknames present to their real JIDs, as far as
	// the room's presences to a moderator tell; kept while joining or in.
	occupants map[string]jid.JID
}

// entry is one attempt to enter a room.
type entry struct {
	room    *room
	nick    string
	retried bool   // a nick conflict was retried already
	removed string // why the room removed us after this entry got us in

	// Set by the transition that decides the attempt, with Manager.mu held.
	decided chan struct{} // closed when verdict is set
	verdict *verdict

	// The outcome, written once by runEntry before done is closed.
	done chan struct{}
	err  error
}

// verdict is what ended, or will end, an entry attempt.
type verdict struct {
	kind  verdictKind
	err   error  // for refused, down, failed
	role  string // for notModerator
	leave bool   // whether runEntry must send a leave presence
}

type verdictKind int

const (
	vEntered      verdictKind = iota
	vConflict                 // nick taken: retry with a suffix
	vRefused                  // an error presence
	vRemoved                  // an unavailable presence with a removal reason
	vCreated                  // status 201
	vNotModerator             // entered with another role
	vTimeout                  // no answer within JoinTimeout
	vFailed                   // the stream, or Close, ended it
)

// ---- Transitions. Each runs with m.mu held. ----

// startEntry: out → joining. It starts the goroutine that sends the entry
// presence and delivers the attempt's outcome.
func (m *Manager) startEntry(r *room) *entry {
	e := &entry{room: r, nick: m.opts.Nick, decided: make(chan struct{}), done: make(chan struct{})}
	r.state, r.entry, r.nick = stateJoining, e, e.nick
	r.occupants = make(map[string]jid.JID) // the room sends us everyone anew
	r.users++                              // the entry holds the room
	m.joins.Add(1)                         // never after Close: callers check m.closed
	go m.runEntry(e)
	m.evictOver() // one more room held
	return e
}

// retryNick: joining → joining with another nickname after a conflict.
func (m *Manager) retryNick(e *entry) {
	var b [2]byte
	_, _ = crand.Read(b[:])
	e.nick = m.opts.Nick + "-" + hex.EncodeToString(b[:])
	e.retried = true
	e.verdict, e.decided = nil, make(chan struct{})
	e.room.nick = e.nick
	e.room.occupants = make(map[string]jid.JID)
}

// decide records the verdict of an attempt; the first one counts.
func (m *Manager) decide(e *entry, v verdict) bool {
	if e.verdict != nil {
		return false
	}
	e.verdict = &v
	close(e.decided)
	return true
}

// entered: joining → in.
func (m *Manager) entered(e *entry) {
	if !m.decide(e, verdict{kind: vEntered}) {
		return
	}
	e.room.state = stateIn
	m.entries.Add(1)
}

// entryFailed: joining → out. A conflict that may still be retried keeps the
// room joining: runEntry decides.
func (m *Manager) entryFailed(e *entry, v verdict) {
	if !m.decide(e, v) || v.kind == vConflict {
		return
	}
	m.entryOut(e, v.kind)
}

// entryOut is the state change of entryFailed, once the verdict is known.
func (m *Manager) entryOut(e *entry, kind verdictKind) {
	r := e.room
	r.state = stateOut
	r.occupants = nil
	if kind == vTimeout || kind == vFailed {
		m.rememberLate(r.jid.WithResource(e.nick))
	}
	m.settle(r)
}

// left: in → out. It returns the leave presence to send when we should
// leave ourselves (demoted, linger, Close), or nil.
func (m *Manager) left(r *room, why string, leave bool) *presence {
	r.state = stateOut
	r.occupants = nil
	m.settle(r)
	m.log.Debug("muc: out of the room", "room", r.jid, "why", why)
	if !leave {
		return nil
	}
	p := m.leavePresence(r.jid, r.nick)
	return &p
}

// settle decides what an idle room becomes: forgotten when out, left after
// the linger time when in.
func (m *Manager) settle(r *room) {
	if r.users > 0 || m.closed {
		return
	}
	switch r.state {
	case stateOut:
		if m.rooms[r.jid] == r {
			delete(m.rooms, r.jid)
		}
	case stateIn:
		r.idleSince, r.spent, r.overBudget, r.evicted = time.Now(), 0, false, false
		hold := m.opts.Linger
		if m.opts.Policy == PolicyAdaptive && m.opts.MaxIdle > 0 {
			hold = max(m.opts.MaxIdle, m.opts.Linger)
		}
		if m.opts.Policy == PolicyLinger || m.opts.MaxIdle > 0 {
			m.arm(r, hold)
		}
		m.evictOver()
	}
}

// reentryCost is what entering a room again costs the server, in stanzas per
// occupant: the presence of each occupant sent to us on entry, and the
// broadcasts of our arrival and of our departure to each of them.
const reentryCost = 3

// spend counts a stanza that an idle room, which is in, sent us; under
// PolicyAdaptive the room is left once staying has cost as much as entering
// again would (and Linger has passed since its last kick).
func (m *Manager) spend(r *room) {
	if m.opts.Policy != PolicyAdaptive || r.state != stateIn || r.users > 0 || r.overBudget || r.evicted {
		return
	}
	r.spent++
	if r.spent < reentryCost*max(len(r.occupants), 1) {
		return
	}
	r.overBudget = true
	m.arm(r, max(0, m.opts.Linger-time.Since(r.idleSince)))
}

// evictOver leaves, at once, the least recently used idle rooms while more
// than MaxRooms rooms are held (entered or being entered). Rooms in use stay:
// the cap is exceeded until their kicks end.
func (m *Manager) evictOver() {
	if m.opts.MaxRooms <= 0 || len(m.rooms) <= m.opts.MaxRooms {
		return
	}
	held := 0
	for _, r := range m.rooms {
		if r.state != stateOut && !r.evicted {
			held++
		}
	}
	for ; held > m.opts.MaxRooms; held-- {
		var lru *room
		for _, r := range m.rooms {
			if r.state == stateIn && r.users == 0 && !r.evicted && (lru == nil || r.idleSince.Before(lru.idleSince)) {
				lru = r
			}
		}
		if lru == nil {
			return // every room held is in use
		}
		lru.evicted = true
		m.log.Debug("muc: too many rooms: leaving the least recently used", "room", lru.jid, "max_rooms", m.opts.MaxRooms)
		m.arm(lru, 0)
	}
}

// arm (re)starts the hold timer of a room that is in: it leaves the room
// after d unless a kick or another arm comes first.
func (m *Manager) arm(r *room, d time.Duration) {
	m.disarmTimer(r)
	gen := r.lingerGen
	r.linger = time.AfterFunc(d, func() { m.expire(r, gen) })
}

// disarm stops the hold timer of a room in use; a timer that already fired
// finds its generation outdated. An eviction is called off.
func (m *Manager) disarm(r *room) {
	m.disarmTimer(r)
	r.evicted = false
}

func (m *Manager) disarmTimer(r *room) {
	r.lingerGen++
	if r.linger != nil {
		r.linger.Stop()
	}
}

// expire: in → out when the hold armed by settle, spend or evictOver ended
// without a kick.
func (m *Manager) expire(r *room, gen uint64) {
	m.mu.Lock()
	if gen != r.lingerGen || r.users > 0 || r.state != stateIn || m.closed {
		m.mu.Unlock()
		return // a kick came, or the room was left meanwhile
	}
	r.state = stateOut
	r.occupants = nil
	m.settle(r)
	leave := m.leavePresence(r.jid, r.nick)
	m.mu.Unlock()
	m.log.Debug("muc: leaving idle room", "room", r.jid)
	m.send(leave)
}

// refusedInside: in → out after a kick from inside came back not-allowed or
// forbidden: we are not (or no longer) a present moderator. A room that
// another kick has left or entered again meanwhile is not touched.
func (m *Manager) refusedInside(r *room, e *entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.state == stateIn && r.entry == e {
		m.left(r, "a kick from inside was refused", false)
	}
}

// ---- Events ----

// HandlePacket takes the stanzas that reach the component and are not
// replies to its IQs. It runs on the component's read goroutine and never
// blocks.
func (m *Manager) HandlePacket(p stanza.Packet) {
	pres, ok := p.(stanza.Presence)
	if !ok {
		if msg, ok := p.(stanza.Message); ok && m.opts.Policy == PolicyAdaptive {
			m.roomMessage(msg) // what staying costs
		}
		return // room messages, subjects, IQs: not our business otherwise
	}
	leave := m.handlePresenceLocked(pres)
	if leave != nil {
		go m.send(*leave) // Send may wait for the writer; this goroutine may not
	}
}

// handlePresenceLocked is handlePresence under m.mu, released even if it
// panics: the component recovers a handler's panic, and a lock held for ever
// would hang every later kick.
func (m *Manager) handlePresenceLocked(pres stanza.Presence) *presence {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.handlePresence(pres)
}

// handlePresence routes a presence to the transition it means, with m.mu
// held, and returns a leave presence to send, if any.
func (m *Manager) handlePresence(pres stanza.Presence) *presence {
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
		r.track(nick, pres, x)
		m.spend(r)
	case r.state == stateJoining:
		m.entryAnswer(r.entry, pres, x)
	case r.state == stateIn:
		return m.inRoomPresence(r, pres, x)
	}
	return nil
}

// entryAnswer applies our own presence to an entry in progress.
func (m *Manager) entryAnswer(e *entry, pres stanza.Presence, x *userX) {
	switch {
	case pres.Type == stanza.PresenceTypeError:
		err := presenceError(pres)
		if errors.Is(err, errConflict) {
			m.entryFailed(e, verdict{kind: vConflict, err: err})
			return
		}
		m.entryFailed(e, verdict{kind: vRefused, err: err})
	case pres.Type == stanza.PresenceTypeUnavailable:
		if why := x.removal(); why != "" {
			m.entryFailed(e, verdict{kind: vRemoved, err: errors.New(why)})
		}
		// else: the echo of an earlier leave of ours.
	case pres.Type != "":
		// probe, subscribe…: not an answer to an entry.
	case x.has(statusCreated):
		m.entryFailed(e, verdict{kind: vCreated, leave: true})
	case x.role() == "moderator":
		m.entered(e)
	default:
		m.entryFailed(e, verdict{kind: vNotModerator, role: x.role(), leave: true})
	}
}

// inRoomPresence applies our own presence while in the room.
func (m *Manager) inRoomPresence(r *room, pres stanza.Presence, x *userX) *presence {
	switch {
	case pres.Type == stanza.PresenceTypeUnavailable:
		why := x.removal()
		r.entry.removed = why
		if why == "" {
			why = "left"
		}
		m.log.Warn("muc: the component is out of the room", "room", r.jid, "why", why)
		return m.left(r, why, false)
	case pres.Type == stanza.PresenceTypeError:
		return nil // not an answer to anything we sent while in
	case pres.Type != "":
		return nil
	case x.role() != "moderator":
		why := fmt.Sprintf("demoted to role %q", x.role())
		m.log.Warn("muc: the component lost its moderator role: leaving the room", "room", r.jid, "role", x.role())
		return m.left(r, why, true)
	}
	return nil // a presence update
}

// roomMessage counts a message from a room (groupchat, subject, or private
// from an occupant) against the cost of staying there.
func (m *Manager) roomMessage(msg stanza.Message) {
	from, ok := jid.FromServer(msg.From)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[from.Bare()]; r != nil {
		m.spend(r)
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
	p := m.leavePresence(from.Bare(), from.Resource())
	return &p
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

// track records another occupant's presence.
func (r *room) track(nick string, p stanza.Presence, x *userX) {
	switch {
	case p.Type == stanza.PresenceTypeUnavailable:
		delete(r.occupants, nick)
	case p.Type == "" && x != nil && len(x.Items) > 0:
		if real, ok := jid.FromServer(x.Items[0].JID); ok {
			r.occupants[nick] = real
		}
	}
}

func presenceError(p stanza.Presence) error {
	cond := p.Error.Reason
	if cond == "" {
		cond = "undefined-condition"
	}
	return &StanzaError{Type: string(p.Error.Type), Condition: cond, Text: p.Error.Text}
}

// SessionChanged learns that the component's stream came up or went down.
// After a reconnect the component is in no room: the server dropped it, or
// keeps a ghost that a new entry replaces.
func (m *Manager) SessionChanged(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.session++
	m.up = up
	m.server = nil // the next session may be another server
	if up {
		return
	}
	for _, r := range m.rooms {
		switch r.state {
		case stateJoining:
			m.entryFailed(r.entry, verdict{kind: vFailed, err: errEntryLost})
		case stateIn:
			m.left(r, "the stream ended", false)
		}
	}
}

// Close leaves every room and refuses further kicks. It waits for entries in
// progress until ctx ends.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.cancel()
	var leaves []presence
	for _, r := range m.rooms {
		m.disarm(r)
		switch r.state {
		case stateIn:
			leaves = append(leaves, *m.left(r, "shutting down", true))
		case stateJoining:
			// The entry presence may be on its way: leave after it.
			leaves = append(leaves, m.leavePresence(r.jid, r.nick))
			m.entryFailed(r.entry, verdict{kind: vFailed, err: ErrClosed})
		}
	}
	m.mu.Unlock()

	for _, p := range leaves {
		if err := m.conn.Send(p); err != nil {
			m.log.Warn("muc: cannot leave room", "room", p.To, "err", err)
		}
	}
	done := make(chan struct{})
	go func() { m.joins.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- The entry goroutine ----

// runEntry sends the entry presence of e, waits for the room's verdict (or
// gives up after JoinTimeout), does what the verdict needs (a leave, a
// retry with another nick, asking the server how to fix a missing moderator
// role) and delivers the outcome to the callers waiting on e.
func (m *Manager) runEntry(e *entry) {
	defer m.joins.Done()
	r := e.room
	for {
		m.mu.Lock()
		if e.verdict != nil { // the stream, or Close, ended it before it began
			m.mu.Unlock()
			break
		}
		join := presence{From: m.fullJID(), To: r.jid.WithResource(e.nick).String(), X: &joinX{}}
		decided := e.decided
		m.mu.Unlock()

		if err := m.conn.Send(join); err != nil {
			m.mu.Lock()
			m.entryFailed(e, verdict{kind: vFailed, err: sendError(err)})
			m.mu.Unlock()
			break
		}
		t := time.NewTimer(m.opts.JoinTimeout)
		select {
		case <-decided:
		case <-t.C:
		}
		t.Stop()

		m.mu.Lock()
		if e.verdict == nil {
			m.entryFailed(e, verdict{kind: vTimeout, leave: true})
		}
		if e.verdict.kind == vFailed && errors.Is(e.verdict.err, ErrClosed) {
			// Close may have sent its leave before our entry presence.
			e.verdict.leave = true
		}
		if e.verdict.kind == vConflict {
			if !e.retried && !m.closed {
				m.retryNick(e)
				m.log.Info("muc: nickname taken, trying another", "room", r.jid, "nick", e.nick)
				m.mu.Unlock()
				continue
			}
			if m.closed {
				// Shutting down, not refused: the caller gets 503.
				e.verdict.kind, e.verdict.err = vFailed, ErrClosed
				m.entryOut(e, vFailed)
			} else {
				e.verdict.kind = vRefused // taken twice
				m.entryOut(e, vRefused)
			}
		}
		m.mu.Unlock()
		break
	}

	m.mu.Lock()
	v := *e.verdict
	nick := e.nick
	m.mu.Unlock()
	if v.leave {
		m.send(m.leavePresence(r.jid, nick))
	}
	err := m.entryError(r.jid, v)
	if err != nil && !errors.Is(err, ErrClosed) {
		m.log.Warn("muc: cannot enter room", "room", r.jid, "err", err)
	} else if err == nil {
		m.log.Info("muc: entered room", "room", r.jid, "nick", nick)
	}

	m.mu.Lock()
	e.err = err
	close(e.done)
	r.users--
	m.settle(r)
	m.mu.Unlock()
}

// entryError is the error an entry's verdict means for the caller.
func (m *Manager) entryError(roomJID jid.JID, v verdict) error {
	var serr *StanzaError
	switch v.kind {
	case vEntered:
		return nil
	case vRefused:
		if errors.As(v.err, &serr) && serr.Condition == "item-not-found" {
			return fmt.Errorf("%w (entering it: %w)", ErrRoomNotFound, serr)
		}
		return fmt.Errorf("%w: %w", ErrEntryRefused, v.err)
	case vRemoved:
		return fmt.Errorf("%w: removed while entering %s (%v)", ErrEntryRefused, roomJID, v.err)
	case vCreated:
		return fmt.Errorf("%w (our entry created it; left again)", ErrRoomNotFound)
	case vNotModerator:
		sw, ver := m.ServerSoftware(roomJID.Domain())
		return fmt.Errorf("%w: entered %s with role %q, not moderator (server: %s): %s",
			ErrEntryRefused, roomJID, v.role, describeServer(sw, ver), ModeratorFix(sw, ver, m.conn.Domain()))
	case vTimeout:
		return fmt.Errorf("entering %s: %w", roomJID, errEntryTimeout)
	}
	return v.err
}

// sendError gives a failed Send of an entry presence the meaning of a lost
// stream, so that callers tell it from the server's refusal.
func sendError(err error) error {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrStreamLost) {
		return err
	}
	return fmt.Errorf("%w: %w", errEntryLost, err)
}

func (m *Manager) leavePresence(roomJID jid.JID, nick string) presence {
	return presence{From: m.fullJID(), To: roomJID.WithResource(nick).String(), Type: "unavailable"}
}

func (m *Manager) send(p presence) {
	if err := m.conn.Send(p); err != nil {
		m.log.Debug("muc: cannot send presence", "to", p.To, "err", err)
	}
}
