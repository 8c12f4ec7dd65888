// Package component keeps an XMPP external component (XEP-0114) connected to
// its server and carries stanzas over it: it dials, authenticates, reconnects
// with backoff, answers the server's pings, and matches IQ replies to their
// requests by stanza id.
//
// It builds on the stanza package of gosrc.io/xmpp for parsing, but owns the
// stream itself: gosrc.io/xmpp v0.5.1's Component registers IQ replies after
// sending, blocks its receive loop on a waiter that went away, never reports
// </stream:stream> and has no write lock (see docs/how-it-works.md, "Why it
// owns the XEP-0114 stream").
//
// Anything an XMPP user sends to the component's JID reaches it, so nothing
// received may end the stream, and what cannot be used costs little: a
// presence or message from no room of Options.RoomDomains is read past
// without decoding it (counted by Ignored); every other top-level element is
// taken as bytes and decoded (a stanza from the tokens read to take it, any
// other element from its bytes); one that does not decode, is too large,
// holds too many elements or nests them too deep, or is not a stanza is
// counted (Malformed) and dropped, but for what a presence or message yields
// when decoded child by child, which still goes to the Handler; an IQ get or
// set among them is answered with an IQ error. The component itself never
// sends a stranger anything but an IQ error.
//
// The package knows nothing of MUC: messages and presences go to a Handler.
// Its errors say what became of a request in the classes of package
// internal/xmpperr (see Errors); muc passes those on, so that muc's callers
// need not know this package.
package component

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/internal/xmpperr"
	"gosrc.io/xmpp/stanza"
)

// Errors returned by a Component. Those that say what became of a request
// are in one of the classes of package xmpperr (which package muc re-exports
// to its callers), named on each; an error is in one class at most.
var (
	// ErrNotConnected means there is no authenticated stream right now: the
	// request was not sent (class xmpperr.ErrUnavailable).
	ErrNotConnected = xmpperr.New(xmpperr.ErrUnavailable, "component: not connected")
	// ErrDisconnected means the stream ended before the reply came (class
	// xmpperr.ErrStreamLost).
	ErrDisconnected = xmpperr.New(xmpperr.ErrStreamLost, "component: connection lost before the reply")
	// ErrTimeout means the server did not answer an IQ within the IQ timeout
	// (class xmpperr.ErrNoAnswer).
	ErrTimeout = xmpperr.New(xmpperr.ErrNoAnswer, "component: no reply within the IQ timeout")
	// ErrHandshake means the server refused the component (wrong secret or
	// unknown domain): retrying will not help.
	ErrHandshake = errors.New("component: handshake refused")
	// ErrClosed means the component was shut down. It is only ever the
	// reason a stream ended, wrapped by ErrNotConnected or ErrDisconnected,
	// which carry the class; it has none of its own, so that a request
	// caught in the shutdown stays in one class.
	ErrClosed = errors.New("component: closed")
	// ErrConflict means the server refused the handshake because another
	// stream holds the component's domain (Prosody answers <conflict/>):
	// another instance is active, or the server still holds our previous
	// stream. The component stands by and retries every StandbyInterval.
	// Class xmpperr.ErrUnavailable: nothing is sent meanwhile.
	ErrConflict = xmpperr.New(xmpperr.ErrUnavailable, "component: another connection holds the component domain")
	// ErrShared means the server accepted this stream beside another one on
	// the same domain and splits the stanzas between them (ejabberd does):
	// replies to this instance's requests go to the other one. Class
	// xmpperr.ErrUnavailable: the component is not ready for requests.
	ErrShared = xmpperr.New(xmpperr.ErrUnavailable, "component: the component domain is shared with another connection")
)

// StanzaError is an XMPP stanza error (RFC 6120 §8.3) in a reply; package
// muc re-exports it as muc.StanzaError.
type StanzaError = xmpperr.StanzaError

// Handler receives the presences and messages addressed to the component;
// the component answers IQ requests itself and matches IQ replies to their
// requests. Its methods run on the connection's read goroutine and must not
// block.
type Handler interface {
	// HandlePacket gets a stanza.Presence or a stanza.Message (as a value).
	HandlePacket(p stanza.Packet)
	// SessionChanged is called with true when a stream is authenticated and
	// with false when it ends.
	SessionChanged(up bool)
}

// Options configure a Component. Zero durations take the defaults named.
type Options struct {
	Server string // host:port of the server's component listener
	Domain string // the component's JID
	Secret string // the shared secret; never logged

	ConnectTimeout    time.Duration // dial and handshake; default 10s
	IQTimeout         time.Duration // wait for an IQ reply; default 10s
	KeepaliveInterval time.Duration // ping the server this often; default 60s, <0 disables
	KeepaliveTimeout  time.Duration // a ping unanswered this long ends the stream; default IQTimeout
	KeepaliveTo       string        // where pings go; default Domain's parent domain
	BackoffMin        time.Duration // first reconnect delay; default 100ms
	BackoffMax        time.Duration // reconnect delay cap; default 30s
	StandbyInterval   time.Duration // retry interval while the server answers conflict; default 1s

	// Probe, if > 0, is how many pings the component sends to KeepaliveTo
	// right after each handshake, after an IQ timeout, and every few
	// seconds while the domain is found shared, to tell whether the server
	// splits stanzas between this stream and another one (see sharing.go).
	// Until the first probe of a stream has ended, Ready is false. 0 turns
	// the probe off (the component's own tests count every stanza sent).
	Probe int

	// RoomDomains are the MUC services whose presences and messages the
	// component decodes and hands to the Handler: those from a room of one
	// of them (room@domain or room@domain/nick) or from the domain itself.
	// Presences and messages from the server (the parent of Domain, or
	// KeepaliveTo) are decoded too. Any other presence or message is read
	// past without decoding it and counted (Ignored). Empty: every presence
	// and message is decoded.
	RoomDomains []string

	// Dial opens the TCP connection; default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger gets connect and disconnect lines; default slog.Default().
	Logger *slog.Logger
}

// Component is a supervised XEP-0114 connection. Create it with New, set a
// Handler, then call Run.
type Component struct {
	opts    Options
	log     *slog.Logger
	handler Handler

	mu   sync.Mutex
	sess *session // nil while not connected

	idPrefix   string
	idCounter  atomic.Uint64
	reconnects atomic.Uint64
	malformed  atomic.Uint64
	unmatched  atomic.Uint64
	ignored    atomic.Uint64
	dropLog    *limiter

	standby atomic.Bool // the last handshake was refused with conflict
	share   sharing     // whether the server splits our stanzas with another stream

	// JIDs from Options, as incoming JIDs are compared with them.
	domain      string   // the component's domain, lower case
	parent      jid.JID  // the server the component is attached to
	keepaliveTo jid.JID  // where keepalives go
	roomDomains []string // Options.RoomDomains, lower case
}

// New returns a Component that connects when Run is called.
func New(opts Options) *Component {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.IQTimeout <= 0 {
		opts.IQTimeout = 10 * time.Second
	}
	if opts.KeepaliveInterval == 0 {
		opts.KeepaliveInterval = 60 * time.Second
	}
	if opts.KeepaliveTimeout <= 0 {
		opts.KeepaliveTimeout = opts.IQTimeout
	}
	if opts.KeepaliveTo == "" {
		opts.KeepaliveTo = parentOf(opts.Domain).String()
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 100 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.StandbyInterval <= 0 {
		opts.StandbyInterval = time.Second
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var b [6]byte
	_, _ = crand.Read(b[:])
	c := &Component{
		opts:     opts,
		log:      opts.Logger,
		idPrefix: "mk" + hex.EncodeToString(b[:]) + "-",
		dropLog:  newLimiter(dropLogEvery),
		domain:   strings.ToLower(opts.Domain),
		parent:   parentOf(opts.Domain),
	}
	c.keepaliveTo, _ = jid.FromServer(opts.KeepaliveTo)
	for _, d := range opts.RoomDomains {
		c.roomDomains = append(c.roomDomains, strings.ToLower(d))
	}
	return c
}

// SetHandler sets where non-reply stanzas go. Call it before Run.
func (c *Component) SetHandler(h Handler) { c.handler = h }

// Domain is the component's JID.
func (c *Component) Domain() string { return c.opts.Domain }

// Connected reports whether an authenticated stream is up.
func (c *Component) Connected() bool { return c.current() != nil }

// Ready reports whether requests can be carried out now: a stream is up, it
// passed its first probe (if Options.Probe is set), and the domain is not
// found shared with another stream.
func (c *Component) Ready() bool { return c.NotReady() == nil }

// NotReady says why the component is not ready, or returns nil when it is:
// an error wrapping ErrShared, ErrConflict (a standby) or ErrNotConnected,
// all of class xmpperr.ErrUnavailable.
func (c *Component) NotReady() error {
	s := c.current()
	if s == nil {
		if c.standby.Load() {
			return fmt.Errorf("%w (%s): standing by, retrying every %s", ErrConflict, c.opts.Domain, c.opts.StandbyInterval)
		}
		return ErrNotConnected
	}
	return c.share.notReady(s, c.opts.Domain)
}

// Reconnects counts the streams that ended and were dialled again.
func (c *Component) Reconnects() uint64 { return c.reconnects.Load() }

// Malformed counts the top-level elements received and dropped: those that
// did not decode, were larger than 256 KiB, held more than 256 elements or
// nested them more than 32 deep, were not stanzas, or made the code
// handling them panic.
func (c *Component) Malformed() uint64 { return c.malformed.Load() }

// Ignored counts the presences and messages read past without decoding them
// because they came from no room of Options.RoomDomains (see there).
func (c *Component) Ignored() uint64 { return c.ignored.Load() }

// UnmatchedReplies counts the IQ results and errors dropped because no
// request waited for them: late, with an unknown id, or from another address
// than the request went to.
func (c *Component) UnmatchedReplies() uint64 { return c.unmatched.Load() }

// InFlight is the number of IQs waiting for a reply.
func (c *Component) InFlight() int {
	if s := c.current(); s != nil {
		return s.inFlight()
	}
	return 0
}

func (c *Component) current() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}
