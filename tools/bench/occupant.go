package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// crowd is the occupants of the sporadic part (sporadic.go): many light c2s
// connections that count the presences they receive instead of keeping
// them. xmpptest.Client records every presence, which in a room of 1,000
// (a million presences to set it up) would take hundreds of MB; these keep
// nothing but counters and the waiters of the bench.
type crowd struct {
	botNick string // the nick whose arrivals and departures are counted

	presences atomic.Int64 // every presence received from a room
	botJoins  atomic.Int64 // available presences from botNick
	botLeaves atomic.Int64 // unavailable presences from botNick
}

// lightClient is one anonymous c2s connection of a crowd: SASL ANONYMOUS,
// resource binding, then room presences scanned as bytes. It understands
// only what Prosody and ejabberd send on loopback to an occupant.
type lightClient struct {
	crowd *crowd
	conn  net.Conn
	br    *bufio.Reader
	wmu   sync.Mutex

	mu      sync.Mutex
	waiters map[string]chan error // "join|room" or "kick|room" (room in lower case)
	joining map[string]bool       // rooms entered whose own presence has not come yet
	nick    string
}

// dialLight connects an anonymous client to addr's c2s for domain.
func dialLight(c *crowd, addr, domain, nick string) (*lightClient, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	lc := &lightClient{crowd: c, conn: conn, br: bufio.NewReaderSize(conn, 16<<10), waiters: map[string]chan error{}, joining: map[string]bool{}, nick: nick}
	if err := lc.login(domain); err != nil {
		conn.Close()
		return nil, fmt.Errorf("logging in to %s: %w", addr, err)
	}
	go lc.readLoop()
	return lc, nil
}

func (lc *lightClient) write(s string) error {
	lc.wmu.Lock()
	defer lc.wmu.Unlock()
	_ = lc.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := io.WriteString(lc.conn, s)
	return err
}

// readUntil reads until the bytes read contain marker and returns them.
func (lc *lightClient) readUntil(marker string) ([]byte, error) {
	_ = lc.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer lc.conn.SetReadDeadline(time.Time{})
	var b []byte
	for !bytes.Contains(b, []byte(marker)) {
		c, err := lc.br.ReadByte()
		if err != nil {
			return b, err
		}
		b = append(b, c)
		if bytes.Contains(b, []byte("<failure")) && bytes.HasSuffix(b, []byte("</failure>")) {
			return b, fmt.Errorf("SASL failure: %s", b)
		}
	}
	return b, nil
}

func (lc *lightClient) login(domain string) error {
	header := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='" + domain + "'>"
	if err := lc.write(header); err != nil {
		return err
	}
	if _, err := lc.readUntil("</stream:features>"); err != nil {
		return err
	}
	if err := lc.write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'>=</auth>"); err != nil {
		return err
	}
	if _, err := lc.readUntil("success"); err != nil {
		return err
	}
	if _, err := lc.readUntil(">"); err != nil { // the end of <success …/> or <success>
		return err
	}
	if err := lc.write(header); err != nil {
		return err
	}
	if _, err := lc.readUntil("</stream:features>"); err != nil {
		return err
	}
	if err := lc.write("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"); err != nil {
		return err
	}
	b, err := lc.readUntil("</iq>")
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte("</jid>")) {
		return fmt.Errorf("no JID in the bind result: %s", b)
	}
	return nil
}

// readLoop scans the stream for presences until it ends.
func (lc *lightClient) readLoop() {
	var buf []byte
	chunk := make([]byte, 16<<10)
	for {
		n, err := lc.br.Read(chunk)
		buf = append(buf, chunk[:n]...)
		buf = lc.scan(buf)
		if err != nil {
			lc.failAll(err)
			return
		}
	}
}

// scan handles the complete presences in buf and returns what is left.
func (lc *lightClient) scan(buf []byte) []byte {
	for {
		i := bytes.Index(buf, []byte("<presence"))
		if i < 0 {
			if len(buf) > 16 {
				buf = append(buf[:0], buf[len(buf)-16:]...) // a "<presence" split across reads
			}
			return buf
		}
		gt := bytes.IndexByte(buf[i:], '>')
		if gt < 0 {
			return buf[i:]
		}
		end := i + gt + 1
		if buf[i+gt-1] != '/' {
			j := bytes.Index(buf[i:], []byte("</presence>"))
			if j < 0 {
				return buf[i:]
			}
			end = i + j + len("</presence>")
		}
		lc.presence(buf[i:end])
		buf = buf[end:]
	}
}

// attr is the value of the attribute name of the first element in s.
func attr(s []byte, name string) string {
	gt := bytes.IndexByte(s, '>')
	if gt < 0 {
		gt = len(s)
	}
	head := s[:gt]
	for _, q := range []string{"'", `"`} {
		k := []byte(" " + name + "=" + q)
		if i := bytes.Index(head, k); i >= 0 {
			rest := head[i+len(k):]
			if j := bytes.Index(rest, []byte(q)); j >= 0 {
				return string(rest[:j])
			}
		}
	}
	return ""
}

func hasStatus(s []byte, code string) bool {
	return bytes.Contains(s, []byte("code='"+code+"'")) || bytes.Contains(s, []byte(`code="`+code+`"`))
}

func (lc *lightClient) presence(s []byte) {
	from, typ := attr(s, "from"), attr(s, "type")
	room, nick, ok := strings.Cut(from, "/")
	if !ok {
		return
	}
	c := lc.crowd
	c.presences.Add(1)
	room = strings.ToLower(room)
	lc.mu.Lock()
	joining := lc.joining[room]
	lc.mu.Unlock()
	if nick == c.botNick && !joining {
		// An arrival or departure: not the room's list of occupants sent
		// to an occupant entering it.
		switch typ {
		case "":
			c.botJoins.Add(1)
		case "unavailable":
			c.botLeaves.Add(1)
		}
	}
	switch {
	case typ == "error":
		lc.signal("join|"+room, fmt.Errorf("error presence from %s: %s", from, s))
	case nick != lc.nick:
	case typ == "" && hasStatus(s, "110"):
		lc.mu.Lock()
		delete(lc.joining, room)
		lc.mu.Unlock()
		lc.signal("join|"+room, nil)
	case typ == "unavailable" && hasStatus(s, "307"):
		lc.signal("kick|"+room, nil)
	}
}

func (lc *lightClient) signal(key string, err error) {
	lc.mu.Lock()
	ch := lc.waiters[key]
	delete(lc.waiters, key)
	lc.mu.Unlock()
	if ch != nil {
		ch <- err
	}
}

func (lc *lightClient) failAll(err error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for k, ch := range lc.waiters {
		ch <- err
		delete(lc.waiters, k)
	}
}

// expect registers a waiter for key; the returned function waits for it.
func (lc *lightClient) expect(key string) func(timeout time.Duration) error {
	ch := make(chan error, 1)
	lc.mu.Lock()
	lc.waiters[key] = ch
	lc.mu.Unlock()
	return func(timeout time.Duration) error {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case err := <-ch:
			return err
		case <-t.C:
			lc.mu.Lock()
			delete(lc.waiters, key)
			lc.mu.Unlock()
			return fmt.Errorf("no answer (%s) within %v", key, timeout)
		}
	}
}

// join enters room as lc.nick and waits for the room's own presence.
func (lc *lightClient) join(room string) error {
	lc.mu.Lock()
	lc.joining[strings.ToLower(room)] = true
	lc.mu.Unlock()
	wait := lc.expect("join|" + strings.ToLower(room))
	if err := lc.write("<presence to='" + room + "/" + lc.nick + "'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x></presence>"); err != nil {
		return err
	}
	if err := wait(60 * time.Second); err != nil {
		return fmt.Errorf("joining %s as %s: %w", room, lc.nick, err)
	}
	return nil
}

// expectKick returns a function that waits for lc's status-307 presence
// from room; call it before the kick is sent.
func (lc *lightClient) expectKick(room string) func(timeout time.Duration) error {
	return lc.expect("kick|" + strings.ToLower(room))
}

func (lc *lightClient) close() {
	_ = lc.write("</stream:stream>")
	lc.conn.Close()
}
