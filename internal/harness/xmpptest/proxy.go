package xmpptest

import (
	"encoding/xml"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy sits between muc-kick and a server's component listener. It counts,
// per occupant, the presences with status 307 the server sends down the
// component's streams: the component kicks from inside the room, so the
// room's broadcast of a kick reaches it ahead of the IQ result, and when the
// server dies before it has written the 307 to the kicked occupant's own
// socket, the proxy still proves the kick was carried out. It can also cut
// the connections open at a moment without closing them, as a network
// partition does.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  []*proxied
	kicked map[string]int // "room/nick" (room in lower case) → 307s seen
	wg     sync.WaitGroup
}

type proxied struct {
	client, server net.Conn
	silent         atomic.Bool // bytes are dropped, closes are not passed on
}

// StartProxy forwards connections on a free loopback port to target until
// the test ends.
func StartProxy(tb TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, kicked: map[string]int{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.client.Close()
			c.server.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Addr is where to point muc-kick's component.server.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close() // the server is down: so is the proxy
			continue
		}
		c := &proxied{client: client, server: server}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		tapR, tapW := io.Pipe()
		p.wg.Add(3)
		go p.pipe(c, client, server, nil)
		go p.pipe(c, server, client, tapW)
		go p.readKicks(tapR)
	}
}

// pipe copies src to dst, and to tap if set. When src ends, dst is closed
// too, unless the connection is silenced: then the close is lost, like the
// bytes.
func (p *Proxy) pipe(c *proxied, src, dst net.Conn, tap *io.PipeWriter) {
	defer p.wg.Done()
	if tap != nil {
		defer tap.Close()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && tap != nil {
			_, _ = tap.Write(buf[:n])
		}
		if n > 0 && !c.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if !c.silent.Load() {
				dst.Close()
			}
			return
		}
	}
}

// tapPresence is what readKicks needs of a presence.
type tapPresence struct {
	From   string      `xml:"from,attr"`
	Type   string      `xml:"type,attr"`
	Status []tapStatus `xml:"x>status"`
}

type tapStatus struct {
	Code string `xml:"code,attr"`
}

// readKicks parses the server's side of a component stream and counts every
// occupant announced as kicked.
func (p *Proxy) readKicks(r *io.PipeReader) {
	defer p.wg.Done()
	defer io.Copy(io.Discard, r) // never block the pipe
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "presence" {
			continue
		}
		var pr tapPresence
		if err := dec.DecodeElement(&pr, &se); err != nil {
			return
		}
		if pr.Type != "unavailable" || !slices.Contains(pr.Status, tapStatus{"307"}) {
			continue
		}
		room, nick, _ := strings.Cut(pr.From, "/")
		p.mu.Lock()
		p.kicked[strings.ToLower(room)+"/"+nick]++
		p.mu.Unlock()
	}
}

// Kicks is how many times the server announced nick as kicked from room.
func (p *Proxy) Kicks(room, nick string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kicked[strings.ToLower(room)+"/"+nick]
}

// WaitKicks waits up to timeout until Kicks(room, nick) reaches n.
func (p *Proxy) WaitKicks(room, nick string, n int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if p.Kicks(room, nick) >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Silence partitions every connection open now: from here on, nothing
// passes either way, not even a close. New connections pass normally.
func (p *Proxy) Silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.silent.Store(true)
	}
}

// CloseSilenced closes both ends of the silenced connections, as TCP
// eventually does with a dead peer.
func (p *Proxy) CloseSilenced() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if c.silent.Load() {
			c.client.Close()
			c.server.Close()
		}
	}
}
