// Package fakeserver is a scriptable XMPP server for the component side of
// XEP-0114, for tests. It listens on 127.0.0.1:0, checks the handshake, hands
// every stanza it receives to the test with its exact XML, and sends whatever
// the test tells it to: a result, any error, late, never, or a broken stream.
package fakeserver

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stanza is one top-level element a component sent.
type Stanza struct {
	Name               string // iq, presence, message
	Type, ID, From, To string
	Raw                string // the exact bytes received
}

// Handler answers one stanza; it runs on the connection's read goroutine.
type Handler func(c *Conn, s Stanza)

// Server is a fake XEP-0114 listener.
type Server struct {
	Addr   string
	Domain string
	Secret string

	ln net.Listener
	t  testing.TB

	mu       sync.Mutex
	handler  Handler
	refuse   string        // a stream error condition to answer the handshake with
	delay    time.Duration // wait this long before answering a handshake
	conns    []*Conn
	received chan Stanza
	accepted chan *Conn
	wg       sync.WaitGroup
}

// Start starts a server for domain and secret; it stops at the end of the test.
func Start(t testing.TB, domain, secret string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Addr: ln.Addr().String(), Domain: domain, Secret: secret, ln: ln, t: t,
		received: make(chan Stanza, 10000),
		accepted: make(chan *Conn, 100),
		handler:  AnswerResult,
	}
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(s.Close)
	return s
}

// AnswerResult answers every IQ request with an empty result.
func AnswerResult(c *Conn, s Stanza) {
	if s.Name == "iq" && (s.Type == "set" || s.Type == "get") {
		c.Send(Result(s))
	}
}

// Result is an empty result to an IQ.
func Result(s Stanza) string {
	return fmt.Sprintf("<iq type='result' id='%s' from='%s' to='%s'/>", esc(s.ID), esc(s.To), esc(s.From))
}

// Error is an error reply to an IQ with a type and a defined condition.
func Error(s Stanza, typ, condition, text string) string {
	var t string
	if text != "" {
		t = "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>" + esc(text) + "</text>"
	}
	return fmt.Sprintf("<iq type='error' id='%s' from='%s' to='%s'><error type='%s'><%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>%s</error></iq>",
		esc(s.ID), esc(s.To), esc(s.From), typ, condition, t)
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Handle sets how stanzas are answered from now on.
func (s *Server) Handle(h Handler) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// RefuseHandshakes makes the server answer handshakes with a stream error
// of this condition (e.g. "not-authorized"); "" accepts them again.
func (s *Server) RefuseHandshakes(condition string) {
	s.mu.Lock()
	s.refuse = condition
	s.mu.Unlock()
}

// DelayHandshakes makes the server wait d before answering a handshake, as
// an overloaded server would.
func (s *Server) DelayHandshakes(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Received delivers every stanza the component sent, in order.
func (s *Server) Received() <-chan Stanza { return s.received }

// Next waits for the next stanza the component sent.
func (s *Server) Next(timeout time.Duration) (Stanza, bool) {
	select {
	case st := <-s.received:
		return st, true
	case <-time.After(timeout):
		return Stanza{}, false
	}
}

// WaitConn waits for the next authenticated connection.
func (s *Server) WaitConn(timeout time.Duration) *Conn {
	s.t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(timeout):
		s.t.Fatalf("fakeserver: no component connected within %s", timeout)
		return nil
	}
}

// Close stops listening and drops every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{conn: nc, srv: s}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			defer nc.Close()
			c.serve()
		}()
	}
}

func (s *Server) forget(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			return
		}
	}
}

// Conn is one component connection.
type Conn struct {
	conn net.Conn
	srv  *Server
	wmu  sync.Mutex
}

// Send writes raw XML to the component.
func (c *Conn) Send(raw string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := io.WriteString(c.conn, raw)
	return err
}

// Close drops the TCP connection without a word.
func (c *Conn) Close() { c.conn.Close() }

func (c *Conn) serve() {
	var raw bytes.Buffer
	dec := xml.NewDecoder(io.TeeReader(c.conn, &raw))
	// The stream header.
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			break
		}
	}
	id := fmt.Sprintf("fake%d", time.Now().UnixNano())
	c.Send(fmt.Sprintf("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='%s' id='%s'>", c.srv.Domain, id))
	var hs struct {
		XMLName xml.Name `xml:"handshake"`
		Value   string   `xml:",chardata"`
	}
	if err := dec.Decode(&hs); err != nil {
		return
	}
	sum := sha1.Sum([]byte(id + c.srv.Secret))
	c.srv.mu.Lock()
	refuse, delay := c.srv.refuse, c.srv.delay
	c.srv.mu.Unlock()
	time.Sleep(delay)
	if refuse == "" && hs.Value != hex.EncodeToString(sum[:]) {
		refuse = "not-authorized"
	}
	if refuse != "" {
		c.Send("<stream:error><" + refuse + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		return
	}
	c.Send("<handshake/>")
	select {
	case c.srv.accepted <- c:
	default:
	}

	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			if ee, ok := tok.(xml.EndElement); ok && ee.Name.Local == "stream" {
				c.Send("</stream:stream>")
				return
			}
			continue
		}
		if err := dec.Skip(); err != nil {
			return
		}
		st := Stanza{Name: se.Name.Local, Raw: strings.TrimSpace(string(raw.Bytes()[start:dec.InputOffset()]))}
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "type":
				st.Type = a.Value
			case "id":
				st.ID = a.Value
			case "from":
				st.From = a.Value
			case "to":
				st.To = a.Value
			}
		}
		select {
		case c.srv.received <- st:
		default:
		}
		c.srv.mu.Lock()
		h := c.srv.handler
		c.srv.mu.Unlock()
		if h != nil {
			h(c, st)
		}
	}
}
