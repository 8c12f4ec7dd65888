package component

import (
	"bufio"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/muc-kick/muc-kick/internal/xmlrec"
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
			rec := xmlrec.New(bufio.NewReaderSize(&stanzaStream{
				head:   "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>",
				stanza: raw, n: b.N}, 32<<10))
			s := &session{conn: conn, rec: rec, dec: xml.NewDecoder(rec), done: make(chan struct{}), pending: map[string]*waiter{}}
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
