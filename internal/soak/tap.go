package main

import (
	"encoding/xml"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// tap forwards the daemon's component connections to the server and counts,
// per occupant, the presences with status 307 the server sends down them.
// The component kicks from inside the room, so the room's broadcast of a
// kick reaches it ahead of the IQ result: when the server dies before it has
// written the 307 to the kicked occupant's own socket, the tap still proves
// the kick was carried out.
type tap struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	kicked map[string]int // "room/nick" (room in lower case) → 307s seen
}

func startTap(h *harness, target string) *tap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.Fatal(err)
	}
	t := &tap{ln: ln, target: target, kicked: map[string]int{}}
	go t.accept()
	h.Cleanup(func() { ln.Close() })
	return t
}

func (t *tap) addr() string { return t.ln.Addr().String() }

func (t *tap) accept() {
	for {
		client, err := t.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", t.target)
		if err != nil {
			client.Close() // the server is down: so is the tap
			continue
		}
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.Copy(server, client)
			server.Close()
			client.Close()
		}()
		go func() {
			_, _ = io.Copy(io.MultiWriter(client, pw), server)
			pw.Close()
			client.Close()
			server.Close()
		}()
		go t.read(pr)
	}
}

type tapPresence struct {
	From   string      `xml:"from,attr"`
	Type   string      `xml:"type,attr"`
	Status []tapStatus `xml:"x>status"`
}

type tapStatus struct {
	Code string `xml:"code,attr"`
}

// read parses the server's side of one component stream.
func (t *tap) read(r *io.PipeReader) {
	defer io.Copy(io.Discard, r) // never block the stream
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
		var p tapPresence
		if err := dec.DecodeElement(&p, &se); err != nil {
			return
		}
		if p.Type != "unavailable" || !slices.Contains(p.Status, tapStatus{"307"}) {
			continue
		}
		room, nick, _ := strings.Cut(p.From, "/")
		t.mu.Lock()
		t.kicked[strings.ToLower(room)+"/"+nick]++
		t.mu.Unlock()
	}
}

// kicks is how many times the server announced nick as kicked from room.
func (t *tap) kicks(room, nick string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kicked[strings.ToLower(room)+"/"+nick]
}

// waitKicks waits up to timeout until kicks(room, nick) reaches n.
func (t *tap) waitKicks(room, nick string, n int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if t.kicks(room, nick) >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
