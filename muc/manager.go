// Package muc carries out moderation in XEP-0045 multi-user chat rooms
// through an XMPP component: it builds the kick IQ, enters a room when the
// server wants a present moderator, stays a while, and leaves.
//
// Neither Prosody nor ejabberd lets an admin kick from outside a room, so a
// Manager first tries the kick from the component's bare JID (which also
// tells a missing room from an existing one without creating it; a kick by
// JID asks the room's disco#info instead) and, when
// the server answers not-allowed, enters the room as a moderator and kicks
// from its occupant's full JID.
//
// Where each part lives: the Manager (this file) keeps the set of rooms,
// the lock and the API; a room (room.go) owns its lifecycle (out, joining,
// in), drawn there, and decides each transition; hold.go says when an
// unused room is left (the Policy); entry.go runs one entry attempt;
// events.go takes the stanzas and session changes to the rooms and sends
// what they ask; server.go learns the server's software and names the fix
// it needs to make the component a moderator; stanzas.go holds the XML.
//
// Callers need only this package's errors: the outcomes of a kick, the
// classes of a request the server did not answer (ErrUnavailable,
// ErrNoAnswer, ErrStreamLost) and StanzaError. The connection is behind
// Conn, whose implementation (package component) they need not know.
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"gosrc.io/xmpp/stanza"
)

// Conn is what a Manager needs of the component connection
// (*component.Component is one).
//
// Its errors must say what became of a request, for the Manager and its
// callers to act on: an error reply is a *StanzaError; a request (or
// stanza) that was not sent is in ErrUnavailable's class; an IQ sent and
// not answered within the connection's own timeout in ErrNoAnswer's; one
// sent on a stream that ended before the answer in ErrStreamLost's. An
// error is in one of these classes at most, whatever it wraps.
type Conn interface {
	// Domain is the component's JID.
	Domain() string
	// Send sends a stanza without waiting.
	Send(v any) error
	// IQ sends an IQ request and waits for its reply.
	IQ(ctx context.Context, typ, from, to string, payload any) (*stanza.IQ, error)
}

// Options configure a Manager.
type Options struct {
	Domains     []string      // MUC services to act on (lower case)
	Nick        string        // the nickname to enter rooms with
	Policy      Policy        // when to leave a room no kick uses
	Linger      time.Duration // PolicyLinger: stay this long after a room's last kick; PolicyAdaptive: at least this long
	MaxIdle     time.Duration // PolicyAdaptive: leave a room this long after its last kick at the latest, Linger if longer (0: never)
	MaxRooms    int           // stay in at most this many rooms, leaving the least recently used idle ones (0: no cap)
	JoinTimeout time.Duration // wait this long for the room to let us in
	Logger      *slog.Logger
}

// Manager kicks occupants, entering and leaving rooms as needed. It keeps
// the set of rooms, the lock that guards them and the API; each room decides
// its own transitions (room.go). It is safe for concurrent use. Its
// HandlePacket and SessionChanged methods make it the component's Handler.
type Manager struct {
	conn    Conn
	opts    Options
	log     *slog.Logger
	domains map[string]bool
	self    string     // the component's full JID in rooms
	cfg     roomConfig // what every room reads

	ctx    context.Context // ends at Close: bounds lookups of entries, ends sendLoop
	cancel context.CancelFunc
	out    outbox        // presences for sendLoop
	sent   chan struct{} // closed when sendLoop has ended

	entries     atomic.Uint64 // rooms entered, ever
	queries     atomic.Uint64 // archive queries sent, ever: their ids
	queryPrefix string        // random: makes archive query ids unique across instances

	mu    sync.Mutex
	rooms map[jid.JID]*room
	late  map[jid.JID]time.Time // occupant JIDs of entries given up on → when
	// archives are the archive queries waiting for their results, by id.
	archives map[string]*collector
	server   *serverInfo // the server's software, learnt once per session
	up       bool
	closed   bool
	joins    sync.WaitGroup // running entries; Add only with mu held and !closed
}

// NewManager returns a Manager that acts through conn.
func NewManager(conn Conn, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.JoinTimeout <= 0 {
		opts.JoinTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		conn:     conn,
		opts:     opts,
		log:      opts.Logger,
		domains:  make(map[string]bool),
		self:     conn.Domain() + "/muc-kick",
		ctx:      ctx,
		cancel:   cancel,
		out:      outbox{wake: make(chan struct{}, 1)},
		sent:     make(chan struct{}),
		rooms:    make(map[jid.JID]*room),
		late:     make(map[jid.JID]time.Time),
		archives: make(map[string]*collector),
	}
	var b [4]byte
	_, _ = crand.Read(b[:])
	m.queryPrefix = "muc-kick-mam-" + hex.EncodeToString(b[:]) + "-"
	m.cfg = roomConfig{self: m.self, nick: opts.Nick, policy: opts.Policy, linger: opts.Linger, idle: opts.MaxIdle,
		log: opts.Logger, holdEnded: m.holdEnded}
	for _, d := range opts.Domains {
		m.domains[strings.ToLower(d)] = true
	}
	go m.sendLoop()
	return m
}

// Kick removes the occupant with nickname nick from room (from
// jid.ParseRoom), with an optional reason shown to everyone. It returns nil
// only once the server has answered the kick with a result.
func (m *Manager) Kick(ctx context.Context, room jid.JID, nick, reason string) error {
	return m.admin(ctx, room, AdminItem{Nick: nick, Role: "none", Reason: reason})
}

// KickJID kicks every occupant of room whose real JID is jid (a full JID: that
// session) or belongs to it (a bare JID: every session of the account), and
// returns their nicknames. The component learns real JIDs from the presences
// it receives as a moderator, so it enters the room first if it is not in
// (after asking the room's disco#info from outside, so that a missing room is
// not created). An occupant whose presence has not reached the component yet
// is not matched; when none matches, the error wraps ErrOccupantNotFound.
//
// When a kick fails after others succeeded, KickJID returns the nicknames
// kicked so far together with the error.
func (m *Manager) KickJID(ctx context.Context, roomJID, user jid.JID, reason string) ([]string, error) {
	return m.changeJID(ctx, roomJID, user, func(_ *room, nick string) (AdminQuery, error) { return KickQuery(nick, reason), nil })
}

// fromInside runs op (which returns the server's raw answer) from inside
// room, under the room policy as a kick: it enters the room if it is not
// in, after asking the room's disco#info from outside (probe), since
// entering a missing room would create it.
func (m *Manager) fromInside(ctx context.Context, roomJID jid.JID, op func(r *room, from string) error) error {
	if err := m.serves(roomJID); err != nil {
		return err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return err
	}
	defer m.release(r)
	if !m.isIn(r) {
		if err := m.probe(ctx, roomJID); err != nil {
			return err
		}
	}
	return m.inside(ctx, r, func(from string) error { return op(r, from) })
}

// probe asks room for its disco#info (XEP-0045 §6.4) from the component's
// bare JID: a missing room answers item-not-found on Prosody and ejabberd
// and is not created. Any other answer lets the entry decide.
func (m *Manager) probe(ctx context.Context, roomJID jid.JID) error {
	_, err := m.conn.IQ(ctx, "get", "", roomJID.String(), discoInfoQuery{})
	var serr *StanzaError
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

// serves checks that room is on one of the MUC services this manager acts
// on (Options.Domains).
func (m *Manager) serves(room jid.JID) error {
	if d := room.Domain().String(); !m.domains[d] {
		return fmt.Errorf("%w: %s is not in muc.domains", ErrUnknownDomain, d)
	}
	return nil
}

// admin sends one muc#admin change to room: first from the component's bare
// JID, and, when the server wants a present moderator, again from inside.
func (m *Manager) admin(ctx context.Context, roomJID jid.JID, item AdminItem) error {
	_, err := m.request(ctx, roomJID, "set", AdminQuery{Item: item})
	return err
}

// inside runs op (which returns the server's raw answer) from inside r,
// entering first if need be. A not-allowed or forbidden answer from inside
// means we are not the present moderator we thought: the room is marked left
// and op runs once more after a new entry. Errors of op come back through
// kickError, errors of the entry as they are.
func (m *Manager) inside(ctx context.Context, r *room, op func(from string) error) error {
	for retried := false; ; retried = true {
		from, e, err := m.enter(ctx, r)
		if err != nil {
			return err
		}
		if why := m.removedSince(e); why != "" {
			// In the same burst as the entry: that entry failed.
			return fmt.Errorf("%w: removed from %s right after entering it (%s)", ErrEntryRefused, r.jid, why)
		}
		err = op(from)
		if retried || !errors.Is(err, errNotAllowed) && !errors.Is(err, errForbidden) {
			return kickError(err, true)
		}
		m.log.Info("muc: a kick from inside was refused: entering again", "room", r.jid, "err", err)
		m.refusedInside(r, e)
	}
}

// removedSince says why the room removed us after entry e got us in, or "".
func (m *Manager) removedSince(e *entry) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.removed
}

// acquire marks a kick in progress in room, creating its record.
func (m *Manager) acquire(roomJID jid.JID) (*room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	r := m.rooms[roomJID]
	if r == nil {
		r = newRoom(roomJID, &m.cfg)
		m.rooms[roomJID] = r
	}
	r.use()
	return r, nil
}

// release ends a kick in room.
func (m *Manager) release(r *room) { m.locked(r, r.release) }

// isIn reports whether we are in r as a moderator now.
func (m *Manager) isIn(r *room) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return r.state == stateIn
}

// enter makes the component a present moderator of r and returns the full
// JID to act from and the entry that got it in. Concurrent callers share one
// entry; a caller whose ctx ends stops waiting, the entry goes on.
func (m *Manager) enter(ctx context.Context, r *room) (string, *entry, error) {
	m.mu.Lock()
	switch r.state {
	case stateIn:
		e := r.entry
		m.mu.Unlock()
		return m.self, e, nil
	case stateOut:
		if m.closed {
			m.mu.Unlock()
			return "", nil, ErrClosed
		}
		if !m.up {
			m.mu.Unlock()
			return "", nil, errNotConnected
		}
		m.startEntry(r)
	}
	e := r.entry
	m.mu.Unlock()

	select {
	case <-e.done:
		return m.self, e, e.err // this attempt's outcome, whatever came since
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
}

// Enter makes the component a present moderator of room, as the first kick
// into it would, without kicking anyone: `muc-kick check` proves the
// component's rights with it. Like a kick, it never leaves a room created:
// an entry that creates the room leaves again and reports ErrRoomNotFound.
func (m *Manager) Enter(ctx context.Context, roomJID jid.JID) error {
	if err := m.serves(roomJID); err != nil {
		return err
	}
	r, err := m.acquire(roomJID)
	if err != nil {
		return err
	}
	defer m.release(r)
	_, _, err = m.enter(ctx, r)
	return err
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
