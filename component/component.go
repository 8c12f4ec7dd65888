// Package component keeps an XMPP external component (XEP-0114) connected to
// its server and carries stanzas over it: it dials, authenticates, reconnects
// with backoff, answers the server's pings, and matches IQ replies to their
// requests by stanza id.
//
// It builds on the stanza package of gosrc.io/xmpp for parsing, but owns the
// stream itself: gosrc.io/xmpp v0.5.1's Component registers IQ replies after
// sending, blocks its receive loop on a waiter that went away, never reports
// </stream:stream> and has no write lock (see the README, "Why it owns the
// XEP-0114 stream").
//
// Anything an XMPP user sends to the component's JID reaches it, so nothing
// received may end the stream: each top-level element is taken as bytes and
// then decoded; one that does not decode, is too large or is not a stanza is
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
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
	dropLog    limiter

	standby atomic.Bool // the last handshake was refused with conflict
	share   sharing     // whether the server splits our stanzas with another stream
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
		opts.KeepaliveTo = parentDomain(opts.Domain)
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
	return &Component{
		opts:     opts,
		log:      opts.Logger,
		idPrefix: "mk" + hex.EncodeToString(b[:]) + "-",
		dropLog:  limiter{every: dropLogEvery},
	}
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
// did not decode, were larger than 256 KiB, were not stanzas, or made the
// code handling them panic.
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

// Run keeps the component connected until ctx ends, reconnecting with capped
// exponential backoff and jitter. It returns nil when ctx ends, or an error
// wrapping ErrHandshake when the server refuses the component.
func (c *Component) Run(ctx context.Context) error {
	delay := c.opts.BackoffMin
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeoutCause(ctx, c.opts.ConnectTimeout,
			fmt.Errorf("no handshake within %s", c.opts.ConnectTimeout))
		s, err := dial(dctx, c.opts.Dial, c.opts.Server, c.opts.Domain, c.opts.Secret)
		cancel()
		if ctx.Err() != nil {
			if s != nil {
				s.close(time.Second)
			}
			return nil
		}
		if errors.Is(err, ErrHandshake) {
			return fmt.Errorf("%w by %s for %s: check component.domain and the secret on both sides", err, c.opts.Server, c.opts.Domain)
		}
		if errors.Is(err, ErrConflict) {
			// A standby: retry at a short fixed interval, so that it takes
			// over within seconds of the active instance's death. Growing
			// backoff would leave the domain without a component for up to
			// BackoffMax. One line when standing by starts, not one a second.
			if !c.standby.Swap(true) {
				c.log.Warn("component: standing by: another connection holds the component domain; not ready until it goes away",
					"server", c.opts.Server, "domain", c.opts.Domain, "retry_every", c.opts.StandbyInterval,
					"cause", "another muc-kick instance is connected with this domain, or the server still holds our previous stream",
					"err", err)
			}
			if !sleep(ctx, c.opts.StandbyInterval) {
				return nil
			}
			continue
		}
		if err != nil {
			wait := jitter(delay)
			c.log.Warn("component: cannot connect", "server", c.opts.Server, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
			if !sleep(ctx, wait) {
				return nil
			}
			delay = min(delay*2, c.opts.BackoffMax)
			continue
		}
		if c.standby.Swap(false) {
			c.log.Info("component: connected: took over the component domain from the stream that held it", "server", c.opts.Server, "domain", c.opts.Domain)
		} else {
			c.log.Info("component: connected", "server", c.opts.Server, "domain", c.opts.Domain)
		}
		started := time.Now()
		c.serve(ctx, s)
		if ctx.Err() != nil {
			c.log.Info("component: disconnected on shutdown", "server", c.opts.Server)
			return nil
		}
		c.log.Warn("component: disconnected", "server", c.opts.Server, "reason", s.err, "up_for", time.Since(started).Round(time.Millisecond))
		c.reconnects.Add(1)
		attempt = 0
		// A stream that stayed up ends the outage before it: back off from
		// the start again, so that a restart soon after an outage is not met
		// with the outage's delay. A stream dropped at once (a flapping
		// server) keeps the delay growing.
		if time.Since(started) >= min(time.Second, c.opts.BackoffMax) {
			delay = c.opts.BackoffMin
		}
		if !sleep(ctx, jitter(delay)) {
			return nil
		}
		delay = min(delay*2, c.opts.BackoffMax)
	}
}

// serve runs one session until it ends or ctx ends.
func (c *Component) serve(ctx context.Context, s *session) {
	c.share.reset(s, c.opts.Probe > 0)
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	if c.handler != nil {
		c.handler.SessionChanged(true)
	}

	go s.writeLoop()
	go s.readLoop(c.wants, func(f frame) { c.handleFrame(s, f) })
	if c.opts.KeepaliveInterval > 0 {
		go c.keepalive(s)
	}
	if c.opts.Probe > 0 {
		go c.probeLoop(s)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.close(time.Second)
	}

	c.mu.Lock()
	c.sess = nil
	c.mu.Unlock()
	if c.handler != nil {
		c.handler.SessionChanged(false)
	}
}

// handleFrame decodes one top-level element and dispatches it. Nothing in it
// can end the stream: a frame that does not decode, or whose decoding or
// dispatch panics, is dropped (see drop).
func (c *Component) handleFrame(s *session, f frame) {
	decoded := false
	defer func() {
		if v := recover(); v != nil {
			if decoded {
				c.drop(s, f, fmt.Errorf("panic while dispatching: %v", v), "cancel", "internal-server-error")
			} else {
				c.drop(s, f, fmt.Errorf("panic while decoding: %v", v), "modify", "bad-request")
			}
		}
	}()
	if f.unwanted {
		c.ignored.Add(1)
		return
	}
	if f.oversized() {
		c.drop(s, f, fmt.Errorf("larger than %d KiB (%d bytes)", maxFrame>>10, f.size), "modify", "policy-violation")
		return
	}
	if f.over != "" {
		c.drop(s, f, errors.New(f.over), "modify", "bad-request")
		if f.isIQReply() {
			c.deliverUndecodable(s, f, errors.New(f.over))
		}
		return
	}
	p, err := s.decode(f)
	if err != nil {
		c.drop(s, f, err, "modify", "bad-request")
		if f.isIQReply() {
			c.deliverUndecodable(s, f, err) // after the count, so a waiter that returns sees it
		}
		// What of a presence or message does decode still counts: a room
		// relays an occupant's presence with that occupant's own children.
		if p, ok := s.decodeLenient(f); ok {
			decoded = true
			c.dispatch(s, f, p)
		}
		return
	}
	decoded = true
	c.dispatch(s, f, p)
}

// dispatch routes one decoded top-level element.
func (c *Component) dispatch(s *session, f frame, p stanza.Packet) {
	switch v := p.(type) {
	case stanza.Message, stanza.Presence:
		if c.handler != nil {
			c.handler.HandlePacket(p)
		}
	case *stanza.IQ:
		switch v.Type {
		case stanza.IQTypeResult, stanza.IQTypeError:
			if !s.deliver(v) {
				c.unmatched.Add(1)
				c.log.Debug("component: dropped a reply nobody waits for", "id", clip(v.Id), "from", clip(v.From))
				// Evidence of a shared domain only from the server itself
				// (the probes' pings): anyone can send a result with any
				// id, but not from the server's address, which the server
				// stamps on what its users send.
				if c.foreignID(v.Id) && c.isServer(v.From) {
					c.sawForeignReply(s, v.Id)
				}
			}
		case stanza.IQTypeGet, stanza.IQTypeSet:
			c.answerIQ(s, f)
		default:
			c.drop(s, f, fmt.Errorf("iq of type %q", v.Type), "", "")
		}
	default:
		// A handshake, stream features, SASL or stream-management element,
		// or another element gosrc.io/xmpp decodes: not a stanza for us.
		c.drop(s, f, fmt.Errorf("<%s xmlns=%q> is not a stanza", f.start.Name.Local, f.start.Name.Space), "", "")
	}
}

// dropLogEvery spaces out the log lines about dropped elements: a stranger
// who sends thousands gets one line every few seconds, with a count.
const dropLogEvery = 5 * time.Second

// drop counts a received element that cannot be used, logs it (rate-limited)
// and, if it is an IQ get or set, answers it with an IQ error of errType and
// condition. Nothing else is ever answered: not a result or an error (that
// could loop between two entities), not a message or presence.
func (c *Component) drop(s *session, f frame, reason error, errType, condition string) {
	c.malformed.Add(1)
	if ok, held := c.dropLog.allow(); ok {
		c.log.Warn("component: dropped a received element", "element", clip(f.start.Name.Local), "type", clip(f.attr("type")),
			"from", clip(f.attr("from")), "id", clip(f.attr("id")), "bytes", f.size, "reason", clip(reason.Error()), "also_dropped_since_last_line", held)
	}
	if condition != "" && f.isIQRequest() {
		c.answerError(s, f, errType, condition)
	}
}

// deliverUndecodable hands a reply that did not decode to the request waiting
// for it, if any, as what can be read of it: an error reply becomes a
// StanzaError undefined-condition, a result a result without payload. The
// waiter then learns the server's answer instead of timing out.
func (c *Component) deliverUndecodable(s *session, f frame, err error) {
	iq := &stanza.IQ{Attrs: stanza.Attrs{Type: stanza.StanzaType(f.attr("type")), Id: f.attr("id"), From: f.attr("from"), To: f.attr("to")}}
	if iq.Type == stanza.IQTypeError {
		iq.Error = &stanza.Err{Type: stanza.ErrorTypeCancel, Reason: "undefined-condition", Text: "the reply could not be decoded: " + clip(err.Error())}
	}
	if !s.deliver(iq) {
		c.unmatched.Add(1)
	}
}

// answerIQ answers a request addressed to the component. RFC 6120 §8.2.3: a
// get or set carries exactly one child (else bad-request); §8.4: an unknown
// namespace gets service-unavailable. XEP-0199 pings from the server get a
// result; a ping from anyone else gets service-unavailable, as if pings were
// not supported, so that a stranger learns nothing but an IQ error; another
// element in the ping namespace gets feature-not-implemented.
func (c *Component) answerIQ(s *session, f frame) {
	switch {
	case f.children != 1:
		c.answerError(s, f, "modify", "bad-request")
	case f.child.Space != nsPing:
		c.answerError(s, f, "cancel", "service-unavailable")
	case f.child.Local != "ping" || f.attr("type") != "get":
		c.answerError(s, f, "cancel", "feature-not-implemented")
	case !c.isServer(f.attr("from")):
		c.answerError(s, f, "cancel", "service-unavailable")
	default:
		c.answer(s, rawIQ{Type: "result", ID: f.attr("id"), From: c.replyFrom(f.attr("to")), To: f.attr("from")})
	}
}

// answerError answers the IQ request f with an error built from f's
// attributes alone, so it works for a request that did not decode.
func (c *Component) answerError(s *session, f frame, errType, condition string) {
	c.answer(s, rawIQ{Type: "error", ID: f.attr("id"), From: c.replyFrom(f.attr("to")), To: f.attr("from"),
		Error: &rawError{Type: errType, Condition: xml.Name{Space: nsStanzas, Local: condition}}})
}

func (c *Component) answer(s *session, reply rawIQ) {
	if reply.To == "" {
		return // nobody to answer: the server would take the reply for itself
	}
	if err := s.send(reply); err != nil {
		c.log.Debug("component: cannot answer iq", "err", err)
	}
}

// replyFrom is the from of a reply to a stanza sent to to: to itself if it
// is the component's domain or a JID on it, else the domain. Every stanza
// sent carries a from (Prosody 13 closes a component stream that sends one
// without), and only one of the component's own.
func (c *Component) replyFrom(to string) string {
	if strings.EqualFold(domainOf(to), c.opts.Domain) {
		return to
	}
	return c.opts.Domain
}

// isServer reports whether from is the XMPP server the component is
// attached to (the parent of its domain) or the address keepalives go to.
func (c *Component) isServer(from string) bool {
	return from != "" && (strings.EqualFold(from, parentDomain(c.opts.Domain)) || strings.EqualFold(from, c.opts.KeepaliveTo))
}

// wants reports whether the read loop should read and decode the element
// that start opens: anything but a presence or message (in the stream's
// namespace) that comes from no room domain (see Options.RoomDomains).
// It sees the start tag only: what it refuses costs a byte scan.
func (c *Component) wants(start xml.StartElement) bool {
	if len(c.opts.RoomDomains) == 0 || (start.Name.Space != stanza.NSComponent && start.Name.Space != stanza.NSClient) ||
		(start.Name.Local != "presence" && start.Name.Local != "message") {
		return true
	}
	var from string
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "from" {
			from = a.Value
		}
	}
	if c.isServer(from) {
		return true
	}
	d := domainOf(from)
	for _, rd := range c.opts.RoomDomains {
		if strings.EqualFold(d, rd) {
			return true
		}
	}
	return false
}

// domainOf is the domain part of a JID.
func domainOf(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		jid = jid[:i]
	}
	if i := strings.IndexByte(jid, '@'); i >= 0 {
		jid = jid[i+1:]
	}
	return jid
}

// clip shortens what a stranger controls before it goes into a log line.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// limiter lets an event through at most once every so often and counts the
// ones it held back.
type limiter struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time
	held int
}

// allow reports whether the event may go through now and, if so, how many
// were held back since the last that did.
func (l *limiter) allow() (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	l.next = now.Add(l.every)
	held, l.held = l.held, 0
	return true, held
}

// keepalive pings KeepaliveTo every KeepaliveInterval and ends the session
// when no answer (a result or an error) comes within KeepaliveTimeout:
// a server that stopped answering, a half-open TCP connection, or a
// </stream:stream> that gosrc.io/xmpp-based code would miss, is
// noticed and replaced.
func (c *Component) keepalive(s *session) {
	t := time.NewTicker(c.opts.KeepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		_, err := c.sendIQ(context.Background(), s, rawIQ{Type: "get", To: c.opts.KeepaliveTo, Payload: pingPayload{}}, c.opts.KeepaliveTimeout)
		var serr *StanzaError
		if errors.Is(err, ErrTimeout) && c.share.isShared() {
			continue // the reply went to the other stream on our domain: that explains it
		}
		if err != nil && !errors.As(err, &serr) { // any answer, even an error, proves the stream alive
			s.fail(fmt.Errorf("component: keepalive: %w", err))
			return
		}
	}
}

// Send sends a stanza (a struct that encoding/xml marshals to a <presence>
// or <message>) without waiting for an answer. It fails with an error
// wrapping ErrNotConnected when there is no stream or the stream ended
// before the stanza could be queued: then it was not sent.
func (c *Component) Send(v any) error {
	s := c.current()
	if s == nil {
		return ErrNotConnected
	}
	return s.send(v)
}

// IQ sends an IQ request of type typ ("get" or "set") from from (the
// component's domain if empty) to to, carrying payload, and waits for the
// reply. A type error reply is returned as *StanzaError. It gives up after
// the IQ timeout with ErrTimeout, and at once with ErrDisconnected when the
// stream ends after the request was queued, or with ErrNotConnected when
// there is no stream (then the request was not sent).
func (c *Component) IQ(ctx context.Context, typ, from, to string, payload any) (*stanza.IQ, error) {
	s := c.current()
	if s == nil {
		return nil, ErrNotConnected
	}
	if from == "" {
		from = c.opts.Domain
	}
	r, err := c.sendIQ(ctx, s, rawIQ{Type: typ, From: from, To: to, Payload: payload}, c.opts.IQTimeout)
	if errors.Is(err, ErrTimeout) {
		c.suspect(s) // a lost reply: is it the server, or another stream on our domain?
	}
	return r, err
}

// sendIQ sends iq on s and waits for its reply, at most timeout, or until the
// session or ctx ends. A plain timer is cheaper than a context per IQ.
func (c *Component) sendIQ(ctx context.Context, s *session, iq rawIQ, timeout time.Duration) (*stanza.IQ, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	if iq.From == "" {
		iq.From = c.opts.Domain
	}
	iq.ID = c.idPrefix + strconv.FormatUint(c.idCounter.Add(1), 36)
	w := s.register(iq.ID, iq.To) // before the send: a fast reply must find its waiter
	defer s.unregister(iq.ID)
	if err := s.send(iq); err != nil {
		return nil, err // wraps ErrNotConnected: the request was not sent
	}
	select {
	case r := <-w.reply:
		if r.Type == stanza.IQTypeError {
			return r, stanzaError(r)
		}
		return r, nil
	case <-s.done:
		return nil, fmt.Errorf("%w: %w", ErrDisconnected, s.err)
	case <-t.C:
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func stanzaError(iq *stanza.IQ) *StanzaError {
	if iq.Error == nil {
		return &StanzaError{Type: "cancel", Condition: "undefined-condition"}
	}
	cond := iq.Error.Reason
	if cond == "" {
		cond = "undefined-condition"
	}
	return &StanzaError{Type: string(iq.Error.Type), Condition: cond, Text: iq.Error.Text}
}

const (
	nsPing    = "urn:xmpp:ping"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// rawIQ is an outgoing IQ. Its payload is any value encoding/xml marshals.
type rawIQ struct {
	XMLName xml.Name  `xml:"iq"`
	Type    string    `xml:"type,attr"`
	ID      string    `xml:"id,attr"`
	From    string    `xml:"from,attr,omitempty"`
	To      string    `xml:"to,attr,omitempty"`
	Payload any       `xml:",omitempty"`
	Error   *rawError `xml:"error,omitempty"`
}

type rawError struct {
	Type      string   `xml:"type,attr"`
	Condition xml.Name // an empty element named for the condition
}

func (e rawError) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start.Attr = []xml.Attr{{Name: xml.Name{Local: "type"}, Value: e.Type}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	cond := xml.StartElement{Name: xml.Name{Local: e.Condition.Local}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: e.Condition.Space}}}
	if err := enc.EncodeToken(cond); err != nil {
		return err
	}
	if err := enc.EncodeToken(cond.End()); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

type pingPayload struct {
	XMLName xml.Name `xml:"urn:xmpp:ping ping"`
}

// parentDomain is the domain a component's JID lives under
// ("kick.example.org" → "example.org"), where keepalive pings go.
func parentDomain(d string) string {
	for i := 0; i < len(d); i++ {
		if d[i] == '.' && i+1 < len(d) {
			return d[i+1:]
		}
	}
	return d
}

// jitter spreads d over [d/2, d) so that many daemons do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
