package muc

import (
	"errors"
	"fmt"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
)

// entry is one attempt to enter a room.
type entry struct {
	room    *room
	nick    string
	retried bool   // a nick conflict was retried already
	removed string // why the room removed us after this entry got us in

	// Set by room.decide, with Manager.mu held.
	decided chan struct{} // closed when verdict is set
	verdict *verdict

	// The outcome, written once by room.entryDone before done is closed.
	done chan struct{}
	err  error
}

// verdict is what ended, or will end, an entry attempt.
type verdict struct {
	kind verdictKind
	err  error  // for vRetry, vRefused, vRemoved, vFailed
	role string // for vNotModerator
	// leave: the entry goroutine sends a leave presence, if it sent the
	// entry presence.
	leave bool
}

type verdictKind int

const (
	vEntered      verdictKind = iota
	vRetry                    // nick taken: retry with a suffix (not final)
	vRefused                  // an error presence
	vRemoved                  // an unavailable presence with a removal reason
	vCreated                  // status 201
	vNotModerator             // entered with another role
	vTimeout                  // no answer within JoinTimeout
	vFailed                   // the stream, or Close, ended it
)

// lateWindow is how long a late answer to an entry we gave up on is still
// recognised (and left).
const lateWindow = time.Minute

// maxLate bounds the record of entries given up on.
const maxLate = 1024

// startEntry starts an entry into r, which is out, with m.mu held: the room
// becomes joining and the entry goroutine, which Close waits for, runs.
func (m *Manager) startEntry(r *room) *entry {
	e := r.startEntry()
	m.joins.Add(1) // never after Close: callers check m.closed
	go m.runEntry(e)
	m.evictOver() // one more room held
	return e
}

// runEntry sends the entry presence of e and waits for the room's verdict
// (or gives up after JoinTimeout), sending it again with another nick when
// the verdict says so; then it does what the verdict needs (a leave, asking
// the server how to fix a missing moderator role) and delivers the outcome
// to the callers waiting on e.
func (m *Manager) runEntry(e *entry) {
	defer m.joins.Done()
	r := e.room
	sent := false
	for {
		join, decided, pending := m.nextJoin(e)
		if !pending {
			break
		}
		if err := m.conn.Send(join); err != nil {
			m.locked(r, func() change { return r.entrySendFailed(e, err) })
			break
		}
		sent = true
		t := time.NewTimer(m.opts.JoinTimeout)
		select {
		case <-decided:
		case <-t.C:
			m.locked(r, func() change { return r.entryTimedOut(e) })
		}
		t.Stop()
	}

	m.mu.Lock()
	v, nick := *e.verdict, e.nick
	m.mu.Unlock()
	if v.leave && sent {
		m.send(r.leavePresence(nick))
	}
	err := m.entryError(r.jid, v)
	if err != nil && !errors.Is(err, ErrClosed) {
		m.log.Warn("muc: cannot enter room", "room", r.jid, "err", err)
	} else if err == nil {
		m.log.Info("muc: entered room", "room", r.jid, "nick", nick)
	}
	m.locked(r, func() change { return r.entryDone(e, err) })
}

// nextJoin returns the entry presence to send next and the channel its
// verdict closes, or false when e has its verdict. A vRetry verdict retries
// with another nick (room.retryNick).
func (m *Manager) nextJoin(e *entry) (presence, chan struct{}, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.verdict != nil && e.verdict.kind == vRetry {
		e.room.retryNick(e)
	}
	join := presence{From: m.self, To: e.room.jid.WithResource(e.nick).String(), X: &joinX{}}
	return join, e.decided, e.verdict == nil
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
