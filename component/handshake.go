package component

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"time"

	"gosrc.io/xmpp/stanza"
)

// Opening a stream: XEP-0114's handshake.

// handshakeError is a refusal of the handshake or of the stream by the
// server: a permanent fault of configuration, not of the network.
type handshakeError struct{ reason string }

func (e *handshakeError) Error() string { return "component: handshake refused: " + e.reason }
func (e *handshakeError) Unwrap() error { return ErrHandshake }

// dial connects to addr, opens a jabber:component:accept stream to domain and
// authenticates with secret (XEP-0114 §3). Everything is bounded by ctx.
func dial(ctx context.Context, dialer func(context.Context, string, string) (net.Conn, error), addr, domain, secret string) (*session, error) {
	conn, err := dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn = withQuickAck(conn)
	// The handshake is bounded by ctx's deadline; a cancelled ctx closes the
	// connection, which ends any read or write in progress.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	s := &session{
		conn:    conn,
		out:     make(chan any, 256),
		pending: make(map[string]*waiter),
		done:    make(chan struct{}),
	}
	s.read(conn)
	if err := s.handshake(domain, secret); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("component: handshake with %s: %w", addr, context.Cause(ctx))
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

func (s *session) handshake(domain, secret string) error {
	var open bytes.Buffer
	open.WriteString("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='")
	_ = xml.EscapeText(&open, []byte(domain))
	open.WriteString("'>")
	if _, err := s.conn.Write(open.Bytes()); err != nil {
		return fmt.Errorf("component: opening stream: %w", err)
	}
	header, err := s.streamHeader()
	if err != nil {
		return fmt.Errorf("component: opening stream: %w", err)
	}
	s.nsContext = namespaceContext(header)
	var id string
	for _, a := range header.Attr {
		if a.Name.Space == "" && a.Name.Local == "id" {
			id = a.Value
		}
	}
	if id == "" {
		// Some servers answer a bad 'to' with a stream header and an error.
		return s.handshakeAnswer()
	}
	sum := sha1.Sum([]byte(id + secret))
	if _, err := fmt.Fprintf(s.conn, "<handshake>%s</handshake>", hex.EncodeToString(sum[:])); err != nil {
		return fmt.Errorf("component: sending handshake: %w", err)
	}
	return s.handshakeAnswer()
}

// streamHeader reads up to the server's <stream:stream> and returns it.
func (s *session) streamHeader() (xml.StartElement, error) {
	for {
		tok, err := s.dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != stanza.NSStream || se.Name.Local != "stream" {
				return xml.StartElement{}, fmt.Errorf("expected <stream:stream>, got <%s xmlns=%q>", se.Name.Local, se.Name.Space)
			}
			return se, nil
		}
	}
}

// handshakeAnswer reads the server's answer to the handshake.
func (s *session) handshakeAnswer() error {
	p, err := stanza.NextPacket(s.dec)
	if err != nil {
		return fmt.Errorf("component: reading handshake answer: %w", err)
	}
	switch v := p.(type) {
	case stanza.Handshake:
		return nil
	case stanza.StreamError:
		reason := v.Error.Local
		if v.Text != "" {
			reason += " (" + v.Text + ")"
		}
		switch v.Error.Local {
		case "not-authorized", "host-unknown", "improper-addressing", "invalid-namespace", "policy-violation":
			return &handshakeError{reason: reason} // configuration: retrying will not help
		}
		if v.Error.Local == "conflict" {
			// Prosody: another stream holds the domain (another instance,
			// or our own previous stream the server has not let go of).
			return fmt.Errorf("%w (stream error %s)", ErrConflict, reason)
		}
		// system-shutdown, resource-constraint, …: the next attempt may
		// well succeed.
		return fmt.Errorf("component: handshake: stream error %s", reason)
	case stanza.StreamClosePacket:
		return errors.New("component: the server closed the stream during the handshake")
	default:
		return fmt.Errorf("component: expected <handshake/>, got %s", p.Name())
	}
}
