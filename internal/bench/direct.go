package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// modClient is a c2s XMPP client (SASL ANONYMOUS, no TLS) that enters rooms
// first, so that it owns them, and then kicks by sending muc#admin IQs
// itself: the server's own ceiling, with nothing in between. Any number of
// goroutines may kick at once; their IQs are pipelined on the one stream and
// matched by id, as muc-kick's component stream does.
type modClient struct {
	conn net.Conn
	br   *bufio.Reader
	dec  *xml.Decoder
	jid  string

	wmu sync.Mutex
	ids atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan error // IQ id → its outcome
	joining map[string]chan error // lower-case room → entry outcome
	done    chan struct{}
	err     error
}

const (
	nsClient  = "jabber:client"
	nsStream  = "http://etherx.jabber.org/streams"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsMUCUser = "http://jabber.org/protocol/muc#user"
)

// element is any XML element, decoded generically.
type element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Kids    []element  `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (e *element) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func (e *element) child(space, local string) *element {
	for i := range e.Kids {
		if e.Kids[i].XMLName.Local == local && (space == "" || e.Kids[i].XMLName.Space == space) {
			return &e.Kids[i]
		}
	}
	return nil
}

// condition is the stanza error condition of an error stanza.
func (e *element) condition() string {
	if er := e.child("", "error"); er != nil && len(er.Kids) > 0 {
		return er.attr("type") + "/" + er.Kids[0].XMLName.Local
	}
	return "undefined-condition"
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// dialMod connects and logs in to domain at addr.
func dialMod(addr, domain string) (*modClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &modClient{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), pending: map[string]chan error{},
		joining: map[string]chan error{}, done: make(chan struct{})}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.login(domain); err != nil {
		conn.Close()
		return nil, fmt.Errorf("direct client: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

func (c *modClient) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.conn.Write([]byte(s))
	return err
}

// open sends a stream header and returns the server's features.
func (c *modClient) open(domain string) (*element, error) {
	if err := c.write("<?xml version='1.0'?><stream:stream to='" + esc(domain) + "' xmlns='" + nsClient +
		"' xmlns:stream='" + nsStream + "' version='1.0'>"); err != nil {
		return nil, err
	}
	c.dec = xml.NewDecoder(c.br)
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
	}
	return c.next()
}

// next decodes the next top-level element.
func (c *modClient) next() (*element, error) {
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var e element
			if err := c.dec.DecodeElement(&e, &t); err != nil {
				return nil, err
			}
			return &e, nil
		case xml.EndElement:
			return nil, errors.New("the server closed the stream")
		}
	}
}

func (c *modClient) login(domain string) error {
	features, err := c.open(domain)
	if err != nil {
		return err
	}
	if m := features.child(nsSASL, "mechanisms"); m == nil || !slices.ContainsFunc(m.Kids, func(k element) bool { return strings.TrimSpace(k.Text) == "ANONYMOUS" }) {
		return errors.New("no SASL ANONYMOUS")
	}
	if err := c.write("<auth xmlns='" + nsSASL + "' mechanism='ANONYMOUS'>=</auth>"); err != nil {
		return err
	}
	for {
		e, err := c.next()
		if err != nil {
			return err
		}
		if e.XMLName.Local == "challenge" {
			if err := c.write("<response xmlns='" + nsSASL + "'/>"); err != nil {
				return err
			}
			continue
		}
		if e.XMLName.Local != "success" {
			return fmt.Errorf("SASL: %s", e.XMLName.Local)
		}
		break
	}
	if features, err = c.open(domain); err != nil {
		return err
	}
	if err := c.write("<iq type='set' id='bind'><bind xmlns='" + nsBind + "'/></iq>"); err != nil {
		return err
	}
	res, err := c.nextIQ()
	if err != nil {
		return err
	}
	if b := res.child(nsBind, "bind"); b != nil {
		if j := b.child(nsBind, "jid"); j != nil {
			c.jid = strings.TrimSpace(j.Text)
		}
	}
	if c.jid == "" {
		return errors.New("no JID bound")
	}
	if s := features.child(nsSession, "session"); s != nil && s.child(nsSession, "optional") == nil {
		if err := c.write("<iq type='set' id='sess'><session xmlns='" + nsSession + "'/></iq>"); err != nil {
			return err
		}
		if _, err := c.nextIQ(); err != nil {
			return err
		}
	}
	return nil
}

func (c *modClient) nextIQ() (*element, error) {
	for {
		e, err := c.next()
		if err != nil {
			return nil, err
		}
		if e.XMLName.Local != "iq" {
			continue
		}
		if e.attr("type") == "error" {
			return nil, errors.New(e.condition())
		}
		return e, nil
	}
}

func (c *modClient) readLoop() {
	var err error
	defer func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	}()
	for {
		var e *element
		if e, err = c.next(); err != nil {
			return
		}
		switch e.XMLName.Local {
		case "iq":
			switch typ := e.attr("type"); typ {
			case "result", "error":
				c.mu.Lock()
				ch := c.pending[e.attr("id")]
				delete(c.pending, e.attr("id"))
				c.mu.Unlock()
				if ch != nil {
					if typ == "error" {
						ch <- errors.New(e.condition())
					} else {
						ch <- nil
					}
				}
			case "get", "set":
				reply := "<iq type='result' id='" + esc(e.attr("id")) + "' to='" + esc(e.attr("from")) + "'/>"
				if len(e.Kids) == 0 || e.Kids[0].XMLName.Space != "urn:xmpp:ping" {
					reply = "<iq type='error' id='" + esc(e.attr("id")) + "' to='" + esc(e.attr("from")) +
						"'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
				}
				_ = c.write(reply)
			}
		case "presence":
			room, _, _ := strings.Cut(e.attr("from"), "/")
			c.mu.Lock()
			ch := c.joining[strings.ToLower(room)]
			c.mu.Unlock()
			if ch == nil {
				continue
			}
			if e.attr("type") == "error" {
				ch <- errors.New(e.condition())
				continue
			}
			x := e.child(nsMUCUser, "x")
			if x == nil {
				continue
			}
			self := false
			role := ""
			for _, k := range x.Kids {
				if k.XMLName.Local == "status" && k.attr("code") == "110" {
					self = true
				}
				if k.XMLName.Local == "item" {
					role = k.attr("role")
				}
			}
			if self {
				if role != "moderator" {
					ch <- fmt.Errorf("entered with role %q, not moderator", role)
				} else {
					ch <- nil
				}
			}
		}
	}
}

// join enters room as nick and waits to be in it as a moderator.
func (c *modClient) join(room, nick string) error {
	key := strings.ToLower(room)
	ch := make(chan error, 4)
	c.mu.Lock()
	c.joining[key] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.joining, key)
		c.mu.Unlock()
	}()
	if err := c.write("<presence to='" + esc(room) + "/" + esc(nick) + "'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x></presence>"); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-c.done:
		return errors.New("direct client: connection closed")
	case <-time.After(10 * time.Second):
		return errors.New("direct client: no entry within 10s")
	}
}

// kick sends the same kick muc-kick sends and waits for the result.
func (c *modClient) kick(room, nick, reason string) error {
	id := "k" + strconv.FormatUint(c.ids.Add(1), 36)
	ch := make(chan error, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	if err := c.write("<iq type='set' id='" + id + "' to='" + esc(room) + "'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='" +
		esc(nick) + "' role='none'><reason>" + esc(reason) + "</reason></item></query></iq>"); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-c.done:
		return errors.New("direct client: connection closed")
	case <-time.After(10 * time.Second):
		return errors.New("direct client: no answer within 10s")
	}
}

func (c *modClient) close() {
	_ = c.write("</stream:stream>")
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
	<-c.done
}
