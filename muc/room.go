package muc

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// room is one room as the component takes part in it. It owns its state and
// decides its transitions: each method below is one event, runs with
// Manager.mu held, changes nothing but the room and returns what the
// Manager, which keeps the set of rooms, must do about it (a change). I/O
// (sending presences, asking the server's version) happens outside the
// lock, by the Manager.
//
// A room the Manager has no record of is out.
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
//	         ended or the room was evicted (holdEnded);
//	         stream down; Close
//
// Each entry attempt is an *entry that owns its outcome: a caller waits on
// the entry it found, never on whichever comes next. Its verdict is set in
// one place, decide, by the event that ends the attempt, whole (what went
// wrong and whether to leave); only a nick conflict that may be retried is
// a verdict the next event may replace (vRetry).
//
// What each event does in each state; anything not listed is ignored on
// purpose:
//
//   - Our own presence is a presence from the room's occupant JID for our
//     current nick (room@service/nick); nothing else is believed to be about
//     us, whatever status codes (110) it carries.
//   - joining (entryAnswer): an error presence fails the entry (conflict:
//     retryNick once, unless Close came); an unavailable presence with a
//     removal code or <destroy/> fails it; a plain unavailable presence is
//     the echo of an earlier leave and is ignored; an available presence
//     with 201 fails it (we must not create rooms: leave again, which
//     destroys it); with role moderator: entered; any other role fails it
//     (leave again, and name the server's fix); other types are ignored.
//   - in (inRoomPresence): an unavailable presence: left; an available
//     presence whose role is not moderator: left (demoted; we leave too);
//     with role moderator: a presence update, ignored; an error presence:
//     ignored (not an answer to anything we sent while in); other types are
//     ignored.
//   - out: our own available presence from a room we gave up entering
//     (recorded in Manager.late for lateWindow) is left once (the Manager's
//     lateAnswer: the room has no record by then); anything else is ignored.
//   - Other occupants' presences (room@service/other) update the occupant
//     list (nick → role, affiliation, real JID, occupant-id) while joining
//     or in (otherPresence); ignored while out.
//   - Presences of other types (probe, subscribe…), presences from a bare
//     room JID, messages, subjects and IQs: no transition in any state
//     (messages from a room that is in are counted, below).
//   - A kick from inside answered not-allowed or forbidden: in → out
//     (refusedInside) if the room is still in through the same entry; the
//     kick then enters once more (Manager.inside). Otherwise ignored.
//   - JoinTimeout without a verdict: joining → out (entryTimedOut, with a
//     leave); a failed Send of the entry presence: joining → out
//     (entrySendFailed). The hold timer: in → out (holdEnded, with a leave)
//     unless a kick re-armed it since (idle.gen); ignored otherwise.
//   - A kick starts (use) or ends (release); an entry ends (entryDone): see
//     settle and the hold, below. No state changes.
//   - While in and idle (no kick using the room), every presence of another
//     occupant and every message from the room is a stanza the server sends
//     the component only because it stays: under PolicyAdaptive it is
//     counted (spend), and a room that has cost reentryCost stanzas per
//     occupant since its last kick is left once Linger has passed.
//   - The stream goes down (streamDown): joining → out, in → out, nothing
//     sent; it comes up: no room changes.
//   - Close (close): joining → out and in → out, each with a leave; no entry
//     starts after it and no room is held or forgotten.
//
// The hold (hold.go): what settle arms when the last kick in a room that is in ends.
// PolicyLinger: Linger. PolicyAdaptive: MaxIdle (or Linger, if longer),
// shortened to what is left of Linger once the room is over its budget
// (idle.overBudget). Either way, when more than MaxRooms rooms are held, the
// idle room whose last kick is oldest is left at once (Manager.evictOver),
// and a room in use is never evicted.
type room struct {
	jid       jid.JID
	cfg       *roomConfig
	state     roomState
	entry     *entry              // the current attempt while joining; the one that got us in while in
	nick      string              // our nickname there, while joining or in
	occupants map[string]Occupant // by nickname, but ours; kept while joining or in
	idle      idle
	closed    bool // Close came: the room is neither held nor forgotten any more
}

type roomState int

const (
	stateOut roomState = iota
	stateJoining
	stateIn
)

func (s roomState) String() string { return [...]string{"out", "joining", "in"}[s] }

// roomConfig is what every room reads and nothing changes after NewManager.
type roomConfig struct {
	self   string // the component's full JID, where presences come from
	nick   string
	policy Policy
	linger time.Duration
	idle   time.Duration // PolicyAdaptive: the longest hold (MaxIdle)
	log    *slog.Logger
	// holdEnded is called by a room's hold timer, without the lock.
	holdEnded func(r *room, gen uint64)
}

// change is what a room's transition asks of the Manager.
type change struct {
	leave   *presence // send it once Manager.mu is released
	unused  bool      // nobody uses the room: forget it if out, count it against MaxRooms if in
	gaveUp  jid.JID   // the occupant JID of an entry given up on: leave its late answer
	entered bool      // count an entry
}

func newRoom(j jid.JID, cfg *roomConfig) *room { return &room{jid: j, cfg: cfg} }

// ---- Events of kicks and entries ----

// use: a kick starts using the room; its hold is called off.
func (r *room) use() {
	r.idle.users++
	r.disarm()
}

// release: a kick that used the room ended.
func (r *room) release() change {
	r.idle.users--
	return r.settle()
}

// startEntry: out → joining. The caller runs the entry (Manager.runEntry).
func (r *room) startEntry() *entry {
	e := &entry{room: r, nick: r.cfg.nick, decided: make(chan struct{}), done: make(chan struct{})}
	r.state, r.entry, r.nick = stateJoining, e, e.nick
	r.occupants = make(map[string]Occupant) // the room sends us everyone anew
	r.idle.users++                          // the entry holds the room
	return e
}

// retryNick: joining → joining with another nickname, after a conflict
// decided vRetry.
func (r *room) retryNick(e *entry) {
	var b [2]byte
	_, _ = crand.Read(b[:])
	e.nick = r.cfg.nick + "-" + hex.EncodeToString(b[:])
	e.retried = true
	e.verdict, e.decided = nil, make(chan struct{})
	r.nick = e.nick
	r.occupants = make(map[string]Occupant)
	r.cfg.log.Info("muc: nickname taken, trying another", "room", r.jid, "nick", e.nick)
}

// entryTimedOut: joining → out when JoinTimeout passed without a verdict.
func (r *room) entryTimedOut(e *entry) change {
	return r.entryFailed(e, verdict{kind: vTimeout, leave: true})
}

// entrySendFailed: joining → out when the entry presence could not be sent.
func (r *room) entrySendFailed(e *entry, err error) change {
	return r.entryFailed(e, verdict{kind: vFailed, err: sendError(err)})
}

// entryDone: the entry goroutine delivered err to the callers of e.
func (r *room) entryDone(e *entry, err error) change {
	e.err = err
	close(e.done)
	r.idle.users--
	return r.settle()
}

// refusedInside: in → out after a kick from inside came back not-allowed or
// forbidden: we are not (or no longer) a present moderator. A room that
// another kick has left or entered again meanwhile is not touched.
func (r *room) refusedInside(e *entry) change {
	if r.state != stateIn || r.entry != e {
		return change{}
	}
	return r.left("a kick from inside was refused", false)
}

// ---- Events from the room ----

// ownPresence: a presence from our occupant JID.
func (r *room) ownPresence(pres stanza.Presence, x *userX) change {
	switch r.state {
	case stateJoining:
		return r.entryAnswer(r.entry, pres, x)
	case stateIn:
		return r.inRoomPresence(pres, x)
	}
	return change{}
}

// entryAnswer applies our own presence to an entry in progress.
func (r *room) entryAnswer(e *entry, pres stanza.Presence, x *userX) change {
	switch {
	case pres.Type == stanza.PresenceTypeError:
		err := presenceError(pres)
		if errors.Is(err, errConflict) && !e.retried && !r.closed {
			return r.entryFailed(e, verdict{kind: vRetry, err: err})
		}
		return r.entryFailed(e, verdict{kind: vRefused, err: err}) // a conflict twice: refused
	case pres.Type == stanza.PresenceTypeUnavailable:
		if why := x.removal(); why != "" {
			return r.entryFailed(e, verdict{kind: vRemoved, err: errors.New(why)})
		}
		return change{} // the echo of an earlier leave of ours
	case pres.Type != "":
		return change{} // probe, subscribe…: not an answer to an entry
	case x.has(statusCreated):
		return r.entryFailed(e, verdict{kind: vCreated, leave: true})
	case x.role() == "moderator":
		return r.entered(e)
	}
	return r.entryFailed(e, verdict{kind: vNotModerator, role: x.role(), leave: true})
}

// inRoomPresence applies our own presence while in the room.
func (r *room) inRoomPresence(pres stanza.Presence, x *userX) change {
	switch {
	case pres.Type == stanza.PresenceTypeUnavailable:
		why := x.removal()
		r.entry.removed = why
		if why == "" {
			why = "left"
		}
		r.cfg.log.Warn("muc: the component is out of the room", "room", r.jid, "why", why)
		return r.left(why, false)
	case pres.Type != "":
		return change{} // an error answers nothing we sent while in; probe, subscribe…
	case x.role() != "moderator":
		r.cfg.log.Warn("muc: the component lost its moderator role: leaving the room", "room", r.jid, "role", x.role())
		return r.left(fmt.Sprintf("demoted to role %q", x.role()), true)
	}
	return change{} // a presence update
}

// otherPresence: another occupant's presence, while joining or in.
func (r *room) otherPresence(nick string, p stanza.Presence, x *userX) {
	if r.state == stateOut {
		return
	}
	switch {
	case p.Type == stanza.PresenceTypeUnavailable:
		delete(r.occupants, nick)
	case p.Type == "":
		r.occupants[nick] = occupantOf(nick, p, x)
	}
	r.spend()
}

// message: the room sent a message (groupchat, subject, or private from an
// occupant).
func (r *room) message() { r.spend() }

// ---- Events of the Manager ----

// holdEnded: in → out when the hold armed by settle, spend or evict ended
// without a kick (gen tells which arming fired).
func (r *room) holdEnded(gen uint64) change {
	if gen != r.idle.gen || r.idle.users > 0 || r.state != stateIn || r.closed {
		return change{} // a kick came, or the room was left meanwhile
	}
	return r.left("its hold ended", true)
}

// streamDown: the stream ended; the server dropped us from every room.
func (r *room) streamDown() change {
	switch r.state {
	case stateJoining:
		return r.entryFailed(r.entry, verdict{kind: vFailed, err: errEntryLost})
	case stateIn:
		return r.left("the stream ended", false)
	}
	return change{}
}

// close: Close came. The room leaves, and is neither held nor forgotten
// after.
func (r *room) close() change {
	r.closed = true
	r.disarm()
	switch r.state {
	case stateIn:
		return r.left("shutting down", true)
	case stateJoining:
		// The entry presence may be on its way: leave now, and the entry
		// leaves again after it (unless a conflict refused that nick).
		leave := r.leavePresence(r.nick)
		c := r.entryFailed(r.entry, verdict{kind: vFailed, err: ErrClosed, leave: r.entry.verdict == nil})
		c.leave = &leave
		return c
	}
	return change{}
}

// ---- Transitions ----

// decide records the verdict of an attempt: the first one counts, but for
// vRetry, which a later event may replace.
func (r *room) decide(e *entry, v verdict) bool {
	switch {
	case e.verdict == nil:
		close(e.decided)
	case e.verdict.kind != vRetry:
		return false
	}
	e.verdict = &v
	return true
}

// entered: joining → in.
func (r *room) entered(e *entry) change {
	if !r.decide(e, verdict{kind: vEntered}) {
		return change{}
	}
	r.state = stateIn
	return change{entered: true}
}

// entryFailed: joining → out, unless the verdict is vRetry (joining, until
// the entry goroutine calls retryNick).
func (r *room) entryFailed(e *entry, v verdict) change {
	if !r.decide(e, v) || v.kind == vRetry {
		return change{}
	}
	r.state = stateOut
	r.occupants = nil
	c := r.settle()
	if v.kind == vTimeout || v.kind == vFailed {
		c.gaveUp = r.jid.WithResource(e.nick)
	}
	return c
}

// left: in → out, with a leave presence when we leave ourselves.
func (r *room) left(why string, leave bool) change {
	r.state = stateOut
	r.occupants = nil
	c := r.settle()
	r.cfg.log.Debug("muc: out of the room", "room", r.jid, "why", why)
	if leave {
		p := r.leavePresence(r.nick)
		c.leave = &p
	}
	return c
}

func (r *room) leavePresence(nick string) presence {
	return presence{From: r.cfg.self, To: r.jid.WithResource(nick).String(), Type: "unavailable"}
}

func presenceError(p stanza.Presence) error {
	cond := p.Error.Reason
	if cond == "" {
		cond = "undefined-condition"
	}
	return &StanzaError{Type: string(p.Error.Type), Condition: cond, Text: p.Error.Text}
}
