package xmpptest

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the client.
const (
	connectTimeout = 10 * time.Second // dial, SASL and resource binding
	joinTimeout    = 10 * time.Second // waiting for the own presence in a room
	iqTimeout      = 10 * time.Second // waiting for an IQ response
	writeTimeout   = 10 * time.Second // writing one stanza
	closeTimeout   = 2 * time.Second  // waiting for the server's </stream:stream>
)

// Client is a minimal XMPP client (c2s, SASL ANONYMOUS or PLAIN, no TLS)
// for test occupants of MUC rooms. One goroutine reads the stream and records
// the presences of every room the client is in; it ends when Close is called
// or the server closes the stream. The methods are safe for concurrent use.
type Client struct {
	tb   TB
	conn net.Conn
	jid  string
	ids  atomic.Uint64

	wmu sync.Mutex // serialises writes to conn

	mu        sync.Mutex
	occupants map[string]*Occupant     // by lower-case bare room JID
	pending   map[string]chan *element // IQ responses awaited, by id
	readErr   error                    // why the read loop ended
	// unsolicited holds, as received, the messages, the presences from no
	// room the client is in, and the IQ responses to no request of ours.
	unsolicited []string
	// messages holds every message received, for waitMessage; msgTaken
	// marks those it returned, and msgChanged is closed and replaced on
	// each new one.
	messages   []*element
	msgTaken   []bool
	msgChanged chan struct{}

	done      chan struct{} // closed when the read loop has ended
	closeOnce sync.Once
}

// Connect connects a new anonymous client to s: it opens a c2s stream to
// s.AnonDomain, authenticates with SASL ANONYMOUS, restarts the stream, binds
// a resource (and establishes a session where the server requires one), and
// returns with the client's JID known. The client is closed when the test
// ends. Connect fails the test on error, so it must be called from the
// goroutine running the test.
func Connect(t TB, s *Server) *Client {
	t.Helper()
	c, err := dial(t, s, s.AnonDomain, saslAnonymous{}, "")
	if err != nil {
		loginFailed(t, s, "", err)
	}
	return c
}

// ConnectAs connects a client for the account user@s.UsersDomain (created
// with s.Register): SASL PLAIN with password, then it binds resource (the
// server picks one if resource is empty). Every call is a new session of the
// account, so two calls with different resources give two full JIDs of one
// bare JID; JID returns the full JID the server bound. Otherwise it is
// Connect: the same Client, closed when the test ends, and a failure fails
// the test.
func ConnectAs(t TB, s *Server, user, password, resource string) *Client {
	t.Helper()
	c, err := dial(t, s, s.UsersDomain, saslPlain{user, password}, resource)
	if err != nil {
		loginFailed(t, s, " as "+user+"@"+s.UsersDomain, err)
	}
	return c
}

// loginFailed fails the test for an error of dial: briefly when the server
// does not accept connections (a test may expect that), with the server log
// when it refused the login.
func loginFailed(t TB, s *Server, as string, err error) {
	t.Helper()
	var de dialError
	if errors.As(err, &de) {
		t.Fatalf("xmpptest: connecting to %s: %v", s.Kind, de.err)
	}
	t.Fatalf("xmpptest: logging in to %s%s: %v\n--- server log ---\n%s", s.Kind, as, err, s.Log())
}

// dial connects and logs in to domain on s; on success the client's read
// loop runs and it is closed when the test ends.
func dial(t TB, s *Server, domain string, mech saslMechanism, resource string) (*Client, error) {
	conn, err := net.DialTimeout("tcp", s.ClientAddr, connectTimeout)
	if err != nil {
		return nil, dialError{err}
	}
	c := &Client{
		tb:         t,
		conn:       conn,
		occupants:  make(map[string]*Occupant),
		pending:    make(map[string]chan *element),
		msgChanged: make(chan struct{}),
		done:       make(chan struct{}),
	}
	br := bufio.NewReader(conn)
	_ = conn.SetDeadline(time.Now().Add(connectTimeout))
	stream, err := c.login(br, domain, mech, resource)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	go c.readLoop(stream)
	t.Cleanup(c.Close)
	return c, nil
}

// dialError is a failure to open the TCP connection.
type dialError struct{ err error }

func (e dialError) Error() string { return e.err.Error() }
func (e dialError) Unwrap() error { return e.err }

// saslMechanism is a SASL mechanism with an initial response and no
// challenges worth answering.
type saslMechanism interface {
	name() string
	initialResponse() string // base64; "=" for an empty one (RFC 6120 §6.4.2)
}

type saslAnonymous struct{}

func (saslAnonymous) name() string            { return "ANONYMOUS" }
func (saslAnonymous) initialResponse() string { return "=" }

// saslPlain is RFC 4616 PLAIN without an authorization identity.
type saslPlain struct{ user, password string }

func (saslPlain) name() string { return "PLAIN" }
func (p saslPlain) initialResponse() string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + p.user + "\x00" + p.password))
}

// login runs the stream negotiation and returns the stream to read stanzas
// from.
func (c *Client) login(br *bufio.Reader, domain string, mech saslMechanism, resource string) (*xmlStream, error) {
	header := fmt.Sprintf("<?xml version='1.0'?><stream:stream to='%s' xmlns='%s' xmlns:stream='%s' version='1.0'>",
		escape(domain), nsClient, nsStream)

	// Stream, SASL.
	stream, features, err := c.openStream(br, header)
	if err != nil {
		return nil, err
	}
	mechs := features.child(nsSASL, "mechanisms")
	if mechs == nil || !slices.ContainsFunc(mechs.Kids, func(m element) bool { return strings.TrimSpace(m.Text) == mech.name() }) {
		return nil, fmt.Errorf("server does not offer SASL %s for %s: %s", mech.name(), domain, features.raw)
	}
	if err := c.write("<auth xmlns='" + nsSASL + "' mechanism='" + mech.name() + "'>" + mech.initialResponse() + "</auth>"); err != nil {
		return nil, err
	}
	for {
		el, err := stream.next()
		if err != nil {
			return nil, err
		}
		if el.XMLName.Space == nsSASL && el.XMLName.Local == "challenge" {
			if err := c.write("<response xmlns='" + nsSASL + "'/>"); err != nil {
				return nil, err
			}
			continue
		}
		if el.XMLName.Space == nsSASL && el.XMLName.Local == "success" {
			break
		}
		return nil, fmt.Errorf("SASL %s failed: %s", mech.name(), el.raw)
	}

	// Stream restart, resource binding, optional session.
	stream, features, err = c.openStream(br, header)
	if err != nil {
		return nil, err
	}
	if features.child(nsBind, "bind") == nil {
		return nil, fmt.Errorf("server does not offer resource binding: %s", features.raw)
	}
	bind := "<bind xmlns='" + nsBind + "'/>"
	if resource != "" {
		bind = "<bind xmlns='" + nsBind + "'><resource>" + escape(resource) + "</resource></bind>"
	}
	res, err := c.syncIQ(stream, "<iq type='set' id='bind'>"+bind+"</iq>")
	if err != nil {
		return nil, fmt.Errorf("binding a resource: %w", err)
	}
	if b := res.child(nsBind, "bind"); b != nil {
		if j := b.child(nsBind, "jid"); j != nil {
			c.jid = strings.TrimSpace(j.Text)
		}
	}
	if !strings.Contains(c.jid, "/") {
		return nil, fmt.Errorf("no full JID in the bind result: %s", res.raw)
	}
	if sess := features.child(nsSession, "session"); sess != nil && sess.child(nsSession, "optional") == nil {
		if _, err := c.syncIQ(stream, "<iq type='set' id='session'><session xmlns='"+nsSession+"'/></iq>"); err != nil {
			return nil, fmt.Errorf("establishing a session: %w", err)
		}
	}
	return stream, nil
}

// openStream sends a stream header and reads the server's header and
// features.
func (c *Client) openStream(br *bufio.Reader, header string) (*xmlStream, *element, error) {
	if err := c.write(header); err != nil {
		return nil, nil, err
	}
	stream := newXMLStream(br)
	if _, err := stream.open(); err != nil {
		return nil, nil, err
	}
	features, err := stream.next()
	if err != nil {
		return nil, nil, err
	}
	if features.XMLName.Space != nsStream || features.XMLName.Local != "features" {
		return nil, nil, fmt.Errorf("expected stream features, got %s", features.raw)
	}
	return stream, features, nil
}

// syncIQ sends an IQ during stream negotiation, before the read loop runs,
// and returns its result.
func (c *Client) syncIQ(stream *xmlStream, iq string) (*element, error) {
	if err := c.write(iq); err != nil {
		return nil, err
	}
	for {
		el, err := stream.next()
		if err != nil {
			return nil, err
		}
		if el.XMLName.Local != "iq" {
			continue
		}
		if el.attr("type") == "error" {
			return nil, el.stanzaError()
		}
		return el, nil
	}
}

// JID returns the client's full JID (user@domain/resource), as bound by the
// server.
func (c *Client) JID() string {
	return c.jid
}

// SendRaw writes xml to the stream as it is.
func (c *Client) SendRaw(xml string) error {
	return c.write(xml)
}

func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.conn.Write([]byte(s))
	return err
}

// Close sends </stream:stream>, waits briefly for the server to close its
// stream, closes the connection and waits for the read goroutine to end. It
// is idempotent and registered with t.Cleanup by Connect.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		if c.write("</stream:stream>") == nil {
			select {
			case <-c.done:
			case <-time.After(closeTimeout):
			}
		}
		c.conn.Close()
		<-c.done
	})
}

// readLoop reads stanzas until the stream or the connection ends.
func (c *Client) readLoop(stream *xmlStream) {
	var err error
	defer func() {
		c.mu.Lock()
		c.readErr = err
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		var el *element
		el, err = stream.next()
		if err != nil {
			return
		}
		switch el.XMLName.Local {
		case "presence":
			c.handlePresence(el)
		case "iq":
			c.handleIQ(el)
		case "message":
			c.handleMessage(el)
		case "error":
			err = fmt.Errorf("xmpptest: stream error: %s", el.raw)
			return
		}
	}
}

// handleIQ delivers responses to waiting callers and answers requests.
func (c *Client) handleIQ(el *element) {
	id := el.attr("id")
	switch el.attr("type") {
	case "result", "error":
		c.mu.Lock()
		ch := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if ch != nil {
			ch <- el // buffered
		} else {
			c.mu.Lock()
			c.unsolicited = append(c.unsolicited, el.raw)
			c.mu.Unlock()
		}
	case "get", "set":
		to := ""
		if from := el.attr("from"); from != "" {
			to = " to='" + escape(from) + "'"
		}
		reply := fmt.Sprintf("<iq type='result' id='%s'%s/>", escape(id), to)
		if len(el.Kids) == 0 || el.Kids[0].XMLName.Space != nsPing {
			reply = fmt.Sprintf("<iq type='error' id='%s'%s><error type='cancel'><service-unavailable xmlns='%s'/></error></iq>",
				escape(id), to, nsStanzas)
		}
		_ = c.write(reply)
	}
}

// iq sends an IQ of type typ to to, with payload, and waits for the
// response. A type='error' response is returned as a *StanzaError.
func (c *Client) iq(typ, to, payload string) (*element, error) {
	return c.iqWithin(iqTimeout, typ, to, payload)
}

// iqWithin is iq with a timeout of its own.
func (c *Client) iqWithin(timeout time.Duration, typ, to, payload string) (*element, error) {
	id := "xt" + strconv.FormatUint(c.ids.Add(1), 10)
	ch := make(chan *element, 1)
	// Register the id before sending, so that a fast response is not lost.
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	if err := c.write(fmt.Sprintf("<iq type='%s' id='%s' to='%s'>%s</iq>", typ, id, escape(to), payload)); err != nil {
		return nil, err
	}
	select {
	case res := <-ch:
		if res.attr("type") == "error" {
			return res, res.stanzaError()
		}
		return res, nil
	case <-c.done:
		return nil, c.closedErr()
	case <-time.After(timeout):
		return nil, fmt.Errorf("xmpptest: no response to IQ %s to %s within %v", id, to, timeout)
	}
}

// Unsolicited returns, as received, the stanzas that answered nothing the
// client asked and came from no room it is in: messages, presences, and IQ
// responses with an id it never sent.
func (c *Client) Unsolicited() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.unsolicited)
}

// IQ sends an IQ of type typ to to with payload (raw XML, sent as is) and
// returns the response as received; a type='error' response also returns a
// *StanzaError.
func (c *Client) IQ(typ, to, payload string) (string, error) {
	res, err := c.iq(typ, to, payload)
	if res == nil {
		return "", err
	}
	return res.raw, err
}

// RoomExists asks room for its disco#info (XEP-0045 §6.4): a room that does
// not exist answers item-not-found, and is not created by the question.
func (c *Client) RoomExists(room string) (bool, error) {
	_, err := c.iq("get", room, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
	var serr *StanzaError
	if errors.As(err, &serr) && serr.Condition == "item-not-found" {
		return false, nil
	}
	return err == nil, err
}

// SoftwareVersion asks to for its software name and version (XEP-0092).
func (c *Client) SoftwareVersion(to string) (name, version string, err error) {
	res, err := c.iq("get", to, "<query xmlns='jabber:iq:version'/>")
	if err != nil {
		return "", "", err
	}
	q := res.child("jabber:iq:version", "query")
	if q == nil {
		return "", "", fmt.Errorf("xmpptest: no jabber:iq:version query in %s", res.raw)
	}
	if n := q.child("jabber:iq:version", "name"); n != nil {
		name = n.Text
	}
	if v := q.child("jabber:iq:version", "version"); v != nil {
		version = v.Text
	}
	return name, version, nil
}

// Kick sends the moderator's kick (XEP-0045 §8.2) of nick from room and
// waits for the result. It may be called concurrently: the IQs pipeline on
// the one stream, each matched to its result by id.
func (c *Client) Kick(room, nick, reason string) error {
	r := ""
	if reason != "" {
		r = "<reason>" + escape(reason) + "</reason>"
	}
	_, err := c.iq("set", room, "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='"+escape(nick)+"' role='none'>"+r+"</item></query>")
	return err
}

// closedErr says why the client can no longer receive.
func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr != nil && !errors.Is(c.readErr, errStreamClosed) {
		return fmt.Errorf("xmpptest: client connection closed: %w", c.readErr)
	}
	return errors.New("xmpptest: client connection closed")
}

// Join joins room (a bare JID such as "r1@conference.localhost") as nick. It
// sends presence with <x xmlns='http://jabber.org/protocol/muc'/> and waits
// up to 10 s for its own presence (status 110). If the room refuses, the
// error wraps a *StanzaError with the condition (e.g. "not-authorized",
// "forbidden", "conflict"). A client may be in several rooms, but only once
// in each; after a kick, ban or Leave it may join the room again, and the new
// Occupant then receives the room's presences.
func (c *Client) Join(room, nick string) (*Occupant, error) {
	return c.JoinWith(room, nick, "")
}

// JoinWith is Join with extra, raw XML sent as is inside the entry presence
// (a <priority/>, <show/>, a payload of another namespace).
func (c *Client) JoinWith(room, nick, extra string) (*Occupant, error) {
	key := strings.ToLower(room)
	o := &Occupant{
		Room:    room,
		Nick:    nick,
		c:       c,
		present: make(map[string]bool),
		changed: make(chan struct{}),
	}
	c.mu.Lock()
	if old, ok := c.occupants[key]; ok && !old.gone {
		c.mu.Unlock()
		return nil, fmt.Errorf("xmpptest: %s is already in %s", c.jid, room)
	}
	// Record presences from the room before sending, so none is missed.
	c.occupants[key] = o
	c.mu.Unlock()

	err := c.write(fmt.Sprintf("<presence to='%s/%s'><x xmlns='%s'><history maxchars='0'/></x>%s</presence>",
		escape(room), escape(nick), nsMUC, extra))
	if err == nil {
		err = o.waitJoined()
	}
	if err != nil {
		c.mu.Lock()
		delete(c.occupants, key)
		c.mu.Unlock()
		return nil, fmt.Errorf("xmpptest: couldn't join %s as %s: %w", room, nick, err)
	}
	return o, nil
}

// Leave sends unavailable presence to the room of o and waits up to 10 s for
// the room to confirm; an occupant already gone (kicked, banned) is just
// forgotten. Afterwards the client may join that room again.
func (c *Client) Leave(o *Occupant) {
	c.tb.Helper()
	c.mu.Lock()
	gone := o.gone
	c.mu.Unlock()
	if !gone {
		err := c.write(fmt.Sprintf("<presence type='unavailable' to='%s/%s'/>", escape(o.Room), escape(o.Nick)))
		if err == nil {
			_, err = o.wait(joinTimeout, false, func(p Presence) bool {
				return o.fromSelf(p) && p.Type == "unavailable"
			})
		}
		if err != nil {
			c.tb.Errorf("xmpptest: leaving %s: %v", o.Room, err)
		}
	}
	c.mu.Lock()
	if c.occupants[strings.ToLower(o.Room)] == o {
		delete(c.occupants, strings.ToLower(o.Room))
	}
	c.mu.Unlock()
}

// handlePresence records a presence for the occupant of its room.
func (c *Client) handlePresence(el *element) {
	p := parsePresence(el)
	room, _, _ := strings.Cut(p.From, "/")
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.occupants[strings.ToLower(room)]
	if o == nil {
		c.unsolicited = append(c.unsolicited, el.raw)
		return
	}
	o.presences = append(o.presences, p)
	o.taken = append(o.taken, false)
	if _, nick, ok := strings.Cut(p.From, "/"); ok && p.Type != "error" {
		o.present[nick] = p.Type != "unavailable"
	}
	if o.fromSelf(p) && p.Type == "unavailable" {
		o.gone = true
	}
	close(o.changed)
	o.changed = make(chan struct{})
}

// Presence is a presence stanza received from a MUC room.
type Presence struct {
	From        string // room@service/nick
	Type        string // "" (available), "unavailable" or "error"
	Statuses    []int  // MUC status codes, e.g. 110 (self), 307 (kicked)
	Role        string // muc#user item role
	Affiliation string // muc#user item affiliation
	JID         string // muc#user item jid (if the room discloses it)
	ActorNick   string // muc#user item actor nick
	Reason      string // muc#user item reason
	Error       string // stanza error condition of a type='error' presence
	Raw         string // the stanza as received

	err *StanzaError // the error of a type='error' presence
}

// HasStatus reports whether p carries MUC status code code.
func (p Presence) HasStatus(code int) bool {
	return slices.Contains(p.Statuses, code)
}

func parsePresence(el *element) Presence {
	p := Presence{
		From: el.attr("from"),
		Type: el.attr("type"),
		Raw:  el.raw,
	}
	if x := el.child(nsMUCUser, "x"); x != nil {
		for _, k := range x.Kids {
			if k.XMLName.Space != nsMUCUser {
				continue
			}
			switch k.XMLName.Local {
			case "status":
				if code, err := strconv.Atoi(k.attr("code")); err == nil {
					p.Statuses = append(p.Statuses, code)
				}
			case "item":
				p.Role = k.attr("role")
				p.Affiliation = k.attr("affiliation")
				p.JID = k.attr("jid")
				if a := k.child(nsMUCUser, "actor"); a != nil {
					p.ActorNick = a.attr("nick")
				}
				if r := k.child(nsMUCUser, "reason"); r != nil {
					p.Reason = r.Text
				}
			}
		}
	}
	if se := el.stanzaError(); se != nil && p.Type == "error" {
		p.Error = se.Condition
		p.err = se
	}
	return p
}

// Occupant is a Client's presence in one MUC room. It records every presence
// the client receives from the room.
type Occupant struct {
	Room string // bare room JID
	Nick string // own nick in the room

	c *Client
	// Guarded by c.mu.
	presences []Presence
	taken     []bool          // presences already returned by WaitPresence
	present   map[string]bool // nick → in the room, from the presences seen
	gone      bool            // own unavailable presence seen
	changed   chan struct{}   // closed and replaced on each new presence
}

// fromSelf reports whether p is about this occupant.
func (o *Occupant) fromSelf(p Presence) bool {
	room, nick, _ := strings.Cut(p.From, "/")
	return strings.EqualFold(room, o.Room) && (nick == o.Nick || p.HasStatus(110))
}

// waitJoined waits for the own presence (status 110) or an error presence.
func (o *Occupant) waitJoined() error {
	p, err := o.wait(joinTimeout, false, func(p Presence) bool {
		room, nick, _ := strings.Cut(p.From, "/")
		if !strings.EqualFold(room, o.Room) {
			return false
		}
		return p.Type == "error" && (nick == "" || nick == o.Nick) ||
			p.Type == "" && p.HasStatus(110)
	})
	if err != nil {
		return err
	}
	if p.Type == "error" {
		if p.err != nil {
			return p.err
		}
		return &StanzaError{Condition: "undefined-condition", Text: "error presence without <error/>"}
	}
	// The room may have changed the nick (status 210).
	_, nick, _ := strings.Cut(p.From, "/")
	o.c.mu.Lock()
	o.Nick = nick
	o.c.mu.Unlock()
	return nil
}

// wait returns the first recorded presence matching match, waiting up to
// timeout for it. With take, presences already returned by an earlier take
// are skipped, and the one found is marked.
func (o *Occupant) wait(timeout time.Duration, take bool, match func(Presence) bool) (Presence, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	c := o.c
	for {
		c.mu.Lock()
		for i, p := range o.presences {
			if take && o.taken[i] {
				continue
			}
			if match(p) {
				if take {
					o.taken[i] = true
				}
				c.mu.Unlock()
				return p, nil
			}
		}
		changed := o.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.done:
			return Presence{}, c.closedErr()
		case <-timer.C:
			return Presence{}, fmt.Errorf("xmpptest: no matching presence from %s within %v", o.Room, timeout)
		}
	}
}

// WaitPresence waits up to timeout for a presence from the room matching
// match, e.g. one from room@…/kickbot with an empty Type to see the
// component join. Presences received before the call count too. Each
// presence is returned at most once, so successive calls with the same
// predicate see successive matches (a join, then a rejoin).
func (o *Occupant) WaitPresence(timeout time.Duration, match func(p Presence) bool) (Presence, error) {
	return o.wait(timeout, true, match)
}

// WaitKicked waits up to timeout until this occupant receives its own
// unavailable presence with status 307 (kicked), and returns the <reason>
// text and the <actor nick='…'/> of the kick.
func (o *Occupant) WaitKicked(timeout time.Duration) (reason, actor string, err error) {
	p, err := o.wait(timeout, true, func(p Presence) bool {
		return p.Type == "unavailable" && p.HasStatus(307) && o.fromSelf(p)
	})
	if err != nil {
		return "", "", fmt.Errorf("xmpptest: %s/%s was not kicked: %w", o.Room, o.Nick, err)
	}
	return p.Reason, p.ActorNick, nil
}

// Present reports whether, from the presences this occupant has seen, nick is
// currently in the room.
func (o *Occupant) Present(nick string) bool {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	return o.present[nick]
}

// Presences returns a copy of all presences received from the room so far.
func (o *Occupant) Presences() []Presence {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	return slices.Clone(o.presences)
}

// ConfigureRoom submits the room configuration form (muc#owner, type submit)
// with fields, e.g. "muc#roomconfig_membersonly": {"1"} or
// "muc#roomconfig_roomsecret": {"pw"}, and waits for the IQ result. The
// occupant must be an owner. A refusal is returned as a *StanzaError.
func (o *Occupant) ConfigureRoom(fields map[string][]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<query xmlns='%s'><x xmlns='%s' type='submit'>", nsMUCOwn, nsData)
	b.WriteString("<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>")
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "<field var='%s'>", escape(name))
		for _, v := range fields[name] {
			fmt.Fprintf(&b, "<value>%s</value>", escape(v))
		}
		b.WriteString("</field>")
	}
	b.WriteString("</x></query>")
	if _, err := o.c.iq("set", o.Room, b.String()); err != nil {
		return fmt.Errorf("xmpptest: configuring %s: %w", o.Room, err)
	}
	return nil
}
