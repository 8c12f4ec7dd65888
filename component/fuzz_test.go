package component_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/harness/fakeserver"
	"gosrc.io/xmpp/stanza"
)

// FuzzStanza sends arbitrary bytes as one stanza on a live stream, while an
// IQ waits for its reply, followed by that reply; then a second IQ round
// trip. The stream must stay up, both replies must be delivered, and all
// the component may send in answer is an IQ error with a from (or a ping
// result to the server). Servers re-serialise what they forward, so only
// inputs that are exactly one well-formed element are tried; a
// <stream:error> legitimately ends the stream and is skipped too.
// The seed corpus in testdata/fuzz/FuzzStanza holds hostile examples.
func FuzzStanza(f *testing.F) {
	srv := fakeserver.Start(f, domain, secret)
	srv.Handle(func(*fakeserver.Conn, fakeserver.Stanza) {}) // the target answers
	c := component.New(component.Options{Server: srv.Addr, Domain: domain, Secret: secret,
		IQTimeout: hangGuard, KeepaliveInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := quietHandler{up: make(chan struct{}, 10)}
	c.SetHandler(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	f.Cleanup(func() { cancel(); <-done })
	conn := srv.WaitConn(hangGuard)
	// The connection is accepted before the handshake ends; an IQ sent
	// before the session is up fails with ErrNotConnected and never
	// reaches the server.
	select {
	case <-h.up:
	case <-time.After(hangGuard):
		f.Fatal("the component never completed its handshake")
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		if !oneElement(raw) {
			return
		}
		sent := roundTripAfter(t, c, srv, conn, string(raw))
		sent = append(sent, roundTrip(t, c, srv, conn)...)
		if !c.Connected() || c.Reconnects() != 0 {
			t.Fatalf("the stream went down: Connected() = %v, Reconnects() = %d", c.Connected(), c.Reconnects())
		}
		for _, s := range sent {
			ok := s.Name == "iq" && s.From != "" &&
				(s.Type == "error" || s.Type == "result" && strings.EqualFold(s.To, "example.org"))
			if !ok {
				t.Errorf("the component sent %.500s", s.Raw)
			}
		}
	})
}

// streamContext declares what the fake server's stream header declares.
const streamContext = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>"

// oneElement reports whether raw, in the stream's namespace context, is one
// well-formed element (whitespace around it allowed) with no comment,
// processing instruction or directive, and not a <stream:error>.
func oneElement(raw []byte) bool {
	doc := append([]byte(streamContext), raw...)
	doc = append(doc, "</stream:stream>"...)
	d := xml.NewDecoder(bytes.NewReader(doc))
	if _, err := d.Token(); err != nil {
		return false
	}
	depth, elements := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				elements++
				if elements > 1 || t.Name.Space == stanza.NSStream && t.Name.Local == "error" {
					return false
				}
			}
			depth++
		case xml.EndElement:
			if depth == 0 { // the stream's end: nothing may follow
				_, err := d.Token()
				return elements == 1 && errors.Is(err, io.EOF)
			}
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) != 0 {
				return false
			}
		default:
			return false
		}
	}
}
