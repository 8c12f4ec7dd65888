package component

import (
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// stanzaStream is a stream header followed by n copies of one stanza,
// generated as it is read.
type stanzaStream struct {
	head, stanza string
	n            int
	cur          *strings.Reader
}

func (s *stanzaStream) Read(p []byte) (int, error) {
	for s.cur == nil || s.cur.Len() == 0 {
		switch {
		case s.head != "":
			s.cur, s.head = strings.NewReader(s.head), ""
		case s.n > 0:
			s.cur, s.n = strings.NewReader(s.stanza), s.n-1
		default:
			return 0, io.EOF
		}
	}
	return s.cur.Read(p)
}

// BenchmarkReadLoopHostilePresence measures the read goroutine alone (no
// socket, no sender): what issue 22's flood presence costs it, from a
// stranger (read past unread) and from a room (dropped at the element
// bound).
func BenchmarkReadLoopHostilePresence(b *testing.B) {
	for _, bc := range []struct{ name, from string }{
		{"stranger", "eve@example.org/x"},
		{"room", "room@conference.example.org/eve"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw := `<presence from='` + bc.from + `' to='kick.example.org'>` + strings.Repeat("<a/>", 45000) +
				`<priority>high</priority></presence>`
			c := &Component{opts: Options{Domain: "kick.example.org", RoomDomains: []string{"conference.example.org"}},
				log: slog.New(slog.NewTextHandler(io.Discard, nil)), dropLog: newLimiter(dropLogEvery)}
			conn, peer := net.Pipe()
			defer peer.Close()
			s := &session{conn: conn, done: make(chan struct{}), pending: map[string]*waiter{}}
			s.read(&stanzaStream{
				head:   "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>",
				stanza: raw, n: b.N})
			header, err := s.streamHeader()
			if err != nil {
				b.Fatal(err)
			}
			s.nsContext = namespaceContext(header)
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			s.readLoop(c.wants, func(f frame) { c.handleFrame(s, f) })
			b.StopTimer()
			if n := c.ignored.Load() + c.malformed.Load(); n != uint64(b.N) {
				b.Fatalf("%d of %d stanzas dropped (%v)", n, b.N, s.err)
			}
		})
	}
}

// What XMPP forbids on a stream (RFC 6120 §11.1), although XML allows it,
// ends the stream as not well-formed, at the stream level or inside a
// stanza: a comment, a processing instruction, a DTD.
func TestForbiddenXMLEndsTheStream(t *testing.T) {
	const head = "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>"
	for _, in := range []string{
		"<!-- hello -->",
		"<message from='r@conference.example.org/a'><!-- hello --><body>x</body></message>",
		"<presence from='r@conference.example.org/a'><?pi x?></presence>",
		"<!DOCTYPE x>",
	} {
		conn, peer := net.Pipe()
		defer peer.Close()
		s := &session{conn: conn, done: make(chan struct{}), pending: map[string]*waiter{}}
		s.read(strings.NewReader(head + "<iq type='get' id='1' from='a@b'/>" + in + "<iq type='get' id='2' from='a@b'/>"))
		if _, err := s.streamHeader(); err != nil {
			t.Fatal(err)
		}
		var frames int
		s.readLoop(func(xml.StartElement) int { return maxElements }, func(frame) { frames++ })
		if !errors.Is(s.err, errNotWellFormed) || !strings.Contains(s.err.Error(), "RFC 6120") || frames != 1 {
			t.Errorf("%s: %d frames, then %v; want 1 frame, then not well-formed", in, frames, s.err)
		}
	}
}
