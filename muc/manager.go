// Package muc carries out moderation in XEP-0045 multi-user chat rooms
// through an XMPP component: it builds the kick IQ, enters a room when the
// server wants a present moderator, stays a while, and leaves.
//
// Neither Prosody nor ejabberd lets an admin kick from outside a room, so a
// Manager first tries the kick from the component's bare JID (which also
// tells a missing room from an existing one without creating it) and, when
// the server answers not-allowed, enters the room as a moderator and kicks
// from its occupant's full JID.
//
// The package knows nothing of HTTP.
package muc

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"gosrc.io/xmpp/stanza"
)

// Outcomes of a kick that are not transport failures. Callers test them with
// errors.Is; the wrapped text says more.
var (
	// ErrUnknownDomain: the room is not on one of the configured MUC domains.
	ErrUnknownDomain = errors.New("muc: the room is not on a MUC domain this service acts on")
	// ErrRoomNotFound: the server has no such room.
	ErrRoomNotFound = errors.New("muc: the room does not exist")
	// ErrOccupantNotFound: nobody in the room has that nickname.
	ErrOccupantNotFound = errors.New("muc: no occupant matches")
	// ErrRefused: the server refused the kick itself.
	ErrRefused = errors.New("muc: the server refused the kick")
	// ErrEntryRefused: the component could not enter the room as a moderator.
	ErrEntryRefused = errors.New("muc: the component could not enter the room")
	// ErrClosed: the manager is shutting down.
	ErrClosed = errors.New("muc: shutting down")
)

var (
	errNotAllowed = &component.StanzaError{Condition: "not-allowed"}
	errForbidden  = &component.StanzaError{Condition: "forbidden"}
	errConflict   = &component.StanzaError{Condition: "conflict"}
	errNotFound   = &component.StanzaError{Condition: "item-not-found"}
)

// Conn is what a Manager needs of the component connection.
type Conn interface {
	// Domain is the component's JID.
	Domain() string
	// Send sends a stanza without waiting.
	Send(v any) error
	// IQ sends an IQ request and waits for its reply; an error reply comes
	// back as *component.StanzaError.
	IQ(ctx context.Context, typ, from, to string, payload any) (*stanza.IQ, error)
}

// Options configure a Manager.
type Options struct {
	Domains     []string      // MUC services to act on (lower case)
	Nick        string        // the nickname to enter rooms with
	Linger      time.Duration // stay this long after a room's last kick
	JoinTimeout time.Duration // wait this long for the room to let us in
	Logger      *slog.Logger
}

// Manager kicks occupants, entering and leaving rooms as needed. It is safe
// for concurrent use. Its HandlePacket and SessionChanged methods make it the
// component's Handler.
type Manager struct {
	conn     Conn
	opts     Options
	log      *slog.Logger
	domains  map[string]bool
	resource string // the component's full JID in rooms is domain/resource

	entries atomic.Uint64 // rooms entered, ever

	mu      sync.Mutex
	rooms   map[string]*room
	session uint64 // bumped at every session change; a join belongs to one
	up      bool
	closed  bool
	joins   sync.WaitGroup
}

type roomState int

const (
	stateOut roomState = iota
	stateJoining
	stateIn
)

// room is what the manager knows of one room; guarded by Manager.mu.
type room struct {
	jid     string
	state   roomState
	nick    string        // our nickname there, while joining or in
	users   int           // kicks in progress
	ready   chan struct{} // closed when the current join attempt ends
	joinErr error         // its outcome, valid once ready is closed
	events  chan joinEvent
	linger  *time.Timer
	// occupants maps the nicknames present to their real JIDs, as far as
	// the room's presences to a moderator tell; kept while joining or in.
	occupants map[string]string
}

// joinEvent is what the room said to a join in progress.
type joinEvent struct {
	err     error // an error presence, or the session's end
	created bool  // status 201
	role    string
}

// NewManager returns a Manager that acts through conn.
func NewManager(conn Conn, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.JoinTimeout <= 0 {
		opts.JoinTimeout = 10 * time.Second
	}
	m := &Manager{
		conn:     conn,
		opts:     opts,
		log:      opts.Logger,
		domains:  make(map[string]bool),
		resource: "muc-kick",
		rooms:    make(map[string]*room),
	}
	for _, d := range opts.Domains {
		m.domains[strings.ToLower(d)] = true
	}
	return m
}

// Kick removes the occupant with nickname nick from room (a canonical bare
// JID from ParseRoom), with an optional reason shown to everyone. It returns
// nil only once the server has answered the kick with a result.
func (m *Manager) Kick(ctx context.Context, roomJID, nick, reason string) error {
	return m.admin(ctx, roomJID, AdminItem{Nick: nick, Role: "none", Reason: reason})
}

// Ban sets the affiliation of jid (a bare JID) in room to outcast (XEP-0045
// §9.1): an occupant of that account is removed (status 301) and cannot
// enter again until Unban.
func (m *Manager) Ban(ctx context.Context, roomJID, jid, reason string) error {
	return m.admin(ctx, roomJID, AdminItem{JID: jid, Affiliation: "outcast", Reason: reason})
}

// Unban sets the affiliation of jid in room back to none (XEP-0045 §9.2).
func (m *Manager) Unban(ctx context.Context, roomJID, jid string) error {
	return m.admin(ctx, roomJID, AdminItem{JID: jid, Affiliation: "none"})
}

// KickJID kicks every occupant of room whose real JID is jid (a full JID: that
// session) or belongs to it (a bare JID: every session of the account), and
// returns their nicknames. The component learns real JIDs from the presences
// it receives as a moderator, so it enters the room first if it is not in.
func (m *Manager) KickJID(ctx context.Context, roomJID, jid, reason string) ([]string, error) {
	if err := m.checkDomain(roomJID); err != nil {
		return nil, err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return nil, err
	}
	defer m.release(r)
	from, in := m.occupantJID(r)
	if !in {
		// Entering a missing room would create it: ask from outside first.
		if err := m.probe(ctx, roomJID); err != nil {
			return nil, err
		}
		if from, err = m.enter(ctx, r); err != nil {
			return nil, err
		}
	}
	var kicked []string
	for _, nick := range m.occupantsOf(r, jid) {
		_, err := m.conn.IQ(ctx, "set", from, roomJID, KickQuery(nick, reason))
		switch err := kickError(err, true); {
		case err == nil:
			kicked = append(kicked, nick)
		case errors.Is(err, ErrOccupantNotFound):
			// Left meanwhile: nothing to kick.
		default:
			return kicked, err
		}
	}
	if len(kicked) == 0 {
		return nil, fmt.Errorf("%w: nobody in %s is %s", ErrOccupantNotFound, roomJID, jid)
	}
	return kicked, nil
}

// probe asks room for its disco#info (XEP-0045 §6.4) from the component's
// bare JID: a missing room answers item-not-found on Prosody and ejabberd
// and is not created. Any other answer lets the entry decide.
func (m *Manager) probe(ctx context.Context, roomJID string) error {
	_, err := m.conn.IQ(ctx, "get", "", roomJID, discoInfoQuery{})
	var serr *component.StanzaError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNotFound):
		return fmt.Errorf("%w (%w)", ErrRoomNotFound, err)
	case errors.As(err, &serr):
		return nil
	}
	return err
}

// occupantsOf lists the nicknames in r whose real JID is, or belongs to, jid.
func (m *Manager) occupantsOf(r *room, jid string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	bare := !strings.Contains(jid, "/")
	var nicks []string
	for nick, real := range r.occupants {
		if real == jid || bare && strings.HasPrefix(real, jid+"/") {
			nicks = append(nicks, nick)
		}
	}
	slices.Sort(nicks)
	return nicks
}

func (m *Manager) checkDomain(roomJID string) error {
	if !m.domains[Domain(roomJID)] {
		return fmt.Errorf("%w: %s is not in muc.domains", ErrUnknownDomain, Domain(roomJID))
	}
	return nil
}

// admin sends one muc#admin change to room: first from the component's bare
// JID, and, when the server wants a present moderator, again from inside.
func (m *Manager) admin(ctx context.Context, roomJID string, item AdminItem) error {
	if err := m.checkDomain(roomJID); err != nil {
		return err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return err
	}
	defer m.release(r)

	q := AdminQuery{Item: item}
	from, in := m.occupantJID(r)
	if !in {
		_, err := m.conn.IQ(ctx, "set", "", roomJID, q)
		if !errors.Is(err, errNotAllowed) {
			return kickError(err, false)
		}
		// Not allowed from outside: enter as a moderator and try again.
		if from, err = m.enter(ctx, r); err != nil {
			return err
		}
	}
	_, err = m.conn.IQ(ctx, "set", from, roomJID, q)
	return kickError(err, true)
}

// kickError turns the server's answer to a kick into one of the package's
// errors; inRoom says whether the kick came from a present moderator.
//
// Prosody and ejabberd answer a missing room with cancel/item-not-found.
// A missing nickname is modify/item-not-found on Prosody (even from outside
// the room: it looks the nick up first) and modify/not-acceptable on ejabberd.
func kickError(err error, inRoom bool) error {
	var serr *component.StanzaError
	if !errors.As(err, &serr) {
		return err // nil, or a transport failure
	}
	switch {
	case errors.Is(err, errNotFound) && (serr.Type == "cancel" || serr.Type != "modify" && !inRoom):
		return fmt.Errorf("%w (%w)", ErrRoomNotFound, serr)
	case errors.Is(err, errNotFound),
		errors.Is(err, &component.StanzaError{Condition: "not-acceptable"}):
		return fmt.Errorf("%w (%w)", ErrOccupantNotFound, serr)
	case errors.Is(err, errNotAllowed), errors.Is(err, errForbidden):
		return fmt.Errorf("%w (%w)", ErrRefused, serr)
	}
	return serr
}

// acquire marks a kick in progress in room, creating its record.
func (m *Manager) acquire(jid string) (*room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	r := m.rooms[jid]
	if r == nil {
		r = &room{jid: jid, events: make(chan joinEvent, 4)}
		m.rooms[jid] = r
	}
	r.users++
	if r.linger != nil {
		r.linger.Stop()
	}
	return r, nil
}

// release ends a kick in room.
func (m *Manager) release(r *room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.users--
	m.settle(r)
}

// settle decides, with m.mu held, what an idle room becomes: forgotten when
// we are out of it, left after the linger time when we are in it.
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
		if r.linger == nil {
			r.linger = time.AfterFunc(m.opts.Linger, func() { m.expire(r) })
		} else {
			r.linger.Reset(m.opts.Linger)
		}
	}
}

// expire leaves a room whose linger time passed without a kick.
func (m *Manager) expire(r *room) {
	m.mu.Lock()
	if r.users > 0 || r.state != stateIn || m.closed {
		m.mu.Unlock()
		return
	}
	leave := m.leavePresence(r)
	r.state = stateOut
	m.settle(r)
	m.mu.Unlock()
	m.log.Debug("muc: leaving idle room", "room", r.jid)
	if err := m.conn.Send(leave); err != nil {
		m.log.Debug("muc: cannot leave room", "room", r.jid, "err", err)
	}
}

// occupantJID returns the full JID we are in the room with, if we are.
func (m *Manager) occupantJID(r *room) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fullJID(), r.state == stateIn
}

func (m *Manager) fullJID() string { return m.conn.Domain() + "/" + m.resource }

// enter makes the component a present moderator of r. Concurrent callers
// share one join; a caller whose ctx ends stops waiting, the join goes on.
func (m *Manager) enter(ctx context.Context, r *room) (string, error) {
	m.mu.Lock()
	switch r.state {
	case stateIn:
		m.mu.Unlock()
		return m.fullJID(), nil
	case stateOut:
		if !m.up {
			m.mu.Unlock()
			return "", component.ErrNotConnected
		}
		r.state = stateJoining
		r.ready = make(chan struct{})
		r.joinErr = nil
		r.users++ // the join holds the room too
		m.joins.Add(1)
		go m.join(r, m.session)
	}
	ready := r.ready
	m.mu.Unlock()

	select {
	case <-ready:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fullJID(), r.joinErr
}

// join enters r; on a nickname conflict it tries once more with a suffix.
func (m *Manager) join(r *room, session uint64) {
	defer m.joins.Done()
	nick := m.opts.Nick
	err := m.tryJoin(r, nick)
	if errors.Is(err, errConflict) {
		var b [2]byte
		_, _ = crand.Read(b[:])
		nick = m.opts.Nick + "-" + hex.EncodeToString(b[:])
		m.log.Info("muc: nickname taken, trying another", "room", r.jid, "nick", nick)
		err = m.tryJoin(r, nick)
	}

	m.mu.Lock()
	var leave *presence
	if err == nil && m.closed {
		// Entered while shutting down: Close has already left the rooms.
		p := m.leavePresence(r)
		leave = &p
		err = ErrClosed
	}
	if err == nil && m.session != session {
		err = component.ErrDisconnected
	}
	var serr *component.StanzaError
	switch {
	case err == nil:
		r.state = stateIn
		m.entries.Add(1)
		m.log.Info("muc: entered room", "room", r.jid, "nick", nick)
	case errors.As(err, &serr) && serr.Condition == "item-not-found":
		r.state = stateOut
		err = fmt.Errorf("%w (entering it: %w)", ErrRoomNotFound, serr)
	case errors.As(err, &serr):
		r.state = stateOut
		err = fmt.Errorf("%w: %w", ErrEntryRefused, serr)
	default:
		r.state = stateOut
	}
	if err != nil {
		m.log.Warn("muc: cannot enter room", "room", r.jid, "err", err)
	}
	r.joinErr = err
	close(r.ready)
	r.users--
	m.settle(r)
	m.mu.Unlock()
	if leave != nil {
		_ = m.conn.Send(*leave)
	}
}

// tryJoin sends the entry presence as nick and waits for the room's answer.
func (m *Manager) tryJoin(r *room, nick string) error {
	m.mu.Lock()
	r.nick = nick
	r.occupants = make(map[string]string) // the room sends us everyone anew
	for len(r.events) > 0 {               // stale news of an earlier attempt
		<-r.events
	}
	p := presence{From: m.fullJID(), To: r.jid + "/" + nick, X: &joinX{}}
	m.mu.Unlock()

	if err := m.conn.Send(p); err != nil {
		return err
	}
	t := time.NewTimer(m.opts.JoinTimeout)
	defer t.Stop()
	select {
	case ev := <-r.events:
		switch {
		case ev.err != nil:
			return ev.err
		case ev.created:
			// We must never create rooms: leave, which destroys it again.
			m.sendLeave(r)
			return fmt.Errorf("%w (our entry created it; left again)", ErrRoomNotFound)
		case ev.role != "moderator":
			m.sendLeave(r)
			return fmt.Errorf("%w: entered with role %q, not moderator: give %s admin rights over the MUC service", ErrEntryRefused, ev.role, m.conn.Domain())
		}
		return nil
	case <-t.C:
		m.sendLeave(r)
		return fmt.Errorf("entering %s: %w", r.jid, component.ErrTimeout)
	}
}

func (m *Manager) leavePresence(r *room) presence {
	return presence{From: m.fullJID(), To: r.jid + "/" + r.nick, Type: "unavailable"}
}

func (m *Manager) sendLeave(r *room) {
	m.mu.Lock()
	p := m.leavePresence(r)
	m.mu.Unlock()
	_ = m.conn.Send(p)
}

// HandlePacket takes the presences rooms send to the component. It runs on
// the component's read goroutine and never blocks.
func (m *Manager) HandlePacket(p stanza.Packet) {
	pres, ok := p.(stanza.Presence)
	if !ok {
		return // room messages, subjects: not our business
	}
	bare, nick, _ := strings.Cut(pres.From, "/")
	bare = strings.ToLower(bare)

	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[bare]
	x := mucUser(pres)
	self := x != nil && x.has(statusSelf) || r != nil && nick == r.nick && r.state != stateOut
	if !self {
		if r != nil && r.state != stateOut && nick != "" {
			r.track(nick, pres, x)
		}
		return // another occupant's presence
	}
	if r == nil || r.state == stateOut {
		// A late answer to a join we gave up on: do not stay in the room.
		if pres.Type != stanza.PresenceTypeUnavailable && pres.Type != stanza.PresenceTypeError && !m.closed {
			go m.conn.Send(presence{From: m.fullJID(), To: pres.From, Type: "unavailable"})
		}
		return
	}

	switch {
	case pres.Type == stanza.PresenceTypeError:
		if r.state == stateJoining {
			select {
			case r.events <- joinEvent{err: presenceError(pres)}:
			default:
			}
		}
	case pres.Type == stanza.PresenceTypeUnavailable:
		if r.state == stateJoining {
			return // the echo of an earlier leave
		}
		why := "left"
		switch {
		case x != nil && x.Destroy != nil:
			why = "room destroyed"
		case x != nil && x.has(statusKicked):
			why = "kicked"
		case x != nil && x.has(statusBanned):
			why = "banned"
		case x != nil && (x.has(statusAffChange) || x.has(statusMembers)):
			why = "removed by an affiliation change"
		case x != nil && x.has(statusShutdown):
			why = "MUC service shut down"
		}
		m.log.Warn("muc: the component is out of the room", "room", r.jid, "why", why)
		r.state = stateOut
		m.settle(r)
	case r.state == stateJoining:
		ev := joinEvent{}
		if x != nil {
			ev.created = x.has(statusCreated)
			ev.role = x.role()
		}
		select {
		case r.events <- ev:
		default:
		}
	}
}

// track records another occupant's presence.
func (r *room) track(nick string, p stanza.Presence, x *userX) {
	switch {
	case p.Type == stanza.PresenceTypeUnavailable:
		delete(r.occupants, nick)
	case p.Type == "" && x != nil && len(x.Items) > 0 && x.Items[0].JID != "":
		r.occupants[nick] = canonicalJID(x.Items[0].JID)
	}
}

func presenceError(p stanza.Presence) error {
	cond := p.Error.Reason
	if cond == "" {
		cond = "undefined-condition"
	}
	return &component.StanzaError{Type: string(p.Error.Type), Condition: cond, Text: p.Error.Text}
}

// SessionChanged learns that the component's stream came up or went down.
// After a reconnect the component is in no room: the server dropped it, or
// keeps a ghost that a new entry replaces.
func (m *Manager) SessionChanged(up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.session++
	m.up = up
	if up {
		return
	}
	for _, r := range m.rooms {
		switch r.state {
		case stateJoining:
			select {
			case r.events <- joinEvent{err: component.ErrDisconnected}:
			default:
			}
		case stateIn:
			r.state = stateOut
			m.settle(r)
		}
	}
}

// Rooms is the number of rooms the component is in now.
func (m *Manager) Rooms() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rooms {
		if r.state == stateIn {
			n++
		}
	}
	return n
}

// Entries counts the times the component entered a room.
func (m *Manager) Entries() uint64 { return m.entries.Load() }

// Close leaves every room and refuses further kicks. It waits for joins in
// progress until ctx ends.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	var leaves []presence
	for _, r := range m.rooms {
		if r.linger != nil {
			r.linger.Stop()
		}
		if r.state == stateIn {
			leaves = append(leaves, m.leavePresence(r))
			r.state = stateOut
		}
		if r.state == stateJoining {
			select {
			case r.events <- joinEvent{err: ErrClosed}:
			default:
			}
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
