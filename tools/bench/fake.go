package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fakeXMPP is a minimal XEP-0114 server for the benchmark. It is not
// internal/harness/fakeserver: that one needs a testing.TB, decodes every stanza with
// encoding/xml and keeps every byte a connection ever sent (fine for unit
// tests, but at tens of thousands of kicks a second the fake itself would be
// what is measured). This one splits stanzas with a byte scanner, answers
// from reused buffers, and writes all answers to one read in a single write,
// so its cost per kick is small next to the daemon's.
//
// It plays the MUC service as Prosody and ejabberd do for an admin component:
//
//   - a kick IQ (muc#admin) from the bare component JID gets cancel/not-allowed
//     (or a result with kickBareOK);
//   - an entry presence (with <x xmlns='…/muc'/>) gets the occupant's own
//     presence: status 110, affiliation owner, role moderator;
//   - a leave presence gets the own unavailable presence;
//   - a kick IQ from a full JID (from inside the room) gets a result at
//     once, or is held until Release when hold is set;
//   - any other IQ get or set (a ping) gets a result.
type fakeXMPP struct {
	ln     net.Listener
	domain string
	secret string

	kickBareOK atomic.Bool // answer kicks from the bare JID with a result
	hold       atomic.Bool // hold kicks from full JIDs until Release

	// Counters of what the component sent.
	kicksBare atomic.Int64
	kicksFull atomic.Int64
	joins     atomic.Int64
	leaves    atomic.Int64
	held      atomic.Int64 // kicks held now
	reads     atomic.Int64 // reads that brought stanzas
	stanzas   atomic.Int64 // stanzas read

	mu      sync.Mutex
	conns   map[*fakeConn]bool
	holding []heldIQ
	wg      sync.WaitGroup
}

type heldIQ struct {
	c     *fakeConn
	reply []byte
}

type fakeConn struct {
	nc  net.Conn
	wmu sync.Mutex
}

func (c *fakeConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// startFake listens on a free loopback port.
func startFake(domain, secret string) (*fakeXMPP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeXMPP{ln: ln, domain: domain, secret: secret, conns: make(map[*fakeConn]bool)}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

func (f *fakeXMPP) Addr() string { return f.ln.Addr().String() }

// Close stops listening and drops every connection.
func (f *fakeXMPP) Close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// Release answers every held kick with a result.
func (f *fakeXMPP) Release() {
	f.mu.Lock()
	h := f.holding
	f.holding = nil
	f.mu.Unlock()
	for _, x := range h {
		_ = x.c.write(x.reply)
		f.held.Add(-1)
	}
}

func (f *fakeXMPP) accept() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		c := &fakeConn{nc: nc}
		f.mu.Lock()
		f.conns[c] = true
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			_ = f.serve(c)
			nc.Close()
			f.mu.Lock()
			delete(f.conns, c)
			f.mu.Unlock()
		}()
	}
}

// reader accumulates bytes from the connection.
type reader struct {
	nc  net.Conn
	buf []byte
	r   int // start of unconsumed data
}

func (rd *reader) data() []byte { return rd.buf[rd.r:] }

func (rd *reader) consume(n int) { rd.r += n }

// fill reads more data, compacting or growing the buffer.
func (rd *reader) fill() error {
	if rd.r > 0 {
		n := copy(rd.buf[:cap(rd.buf)], rd.buf[rd.r:])
		rd.buf = rd.buf[:n]
		rd.r = 0
	}
	if len(rd.buf) == cap(rd.buf) {
		nb := make([]byte, len(rd.buf), 2*cap(rd.buf))
		copy(nb, rd.buf)
		rd.buf = nb
	}
	n, err := rd.nc.Read(rd.buf[len(rd.buf):cap(rd.buf)])
	rd.buf = rd.buf[:len(rd.buf)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// until returns the data up to and including the first sep, reading as needed.
func (rd *reader) until(sep []byte) ([]byte, error) {
	for {
		if i := bytes.Index(rd.data(), sep); i >= 0 {
			b := rd.data()[:i+len(sep)]
			rd.consume(i + len(sep))
			return b, nil
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

var (
	tagStream       = []byte("<stream:stream")
	tagClose        = []byte("</stream:stream>")
	tagHandshake    = []byte("<handshake>")
	tagHandshakeEnd = []byte("</handshake>")
	nsAdmin         = []byte("http://jabber.org/protocol/muc#admin")
	nsMUCJoin       = []byte(`"http://jabber.org/protocol/muc"`)
)

func (f *fakeXMPP) serve(c *fakeConn) error {
	rd := &reader{nc: c.nc, buf: make([]byte, 0, 64<<10)}
	// The component's stream header.
	if _, err := rd.until(tagStream); err != nil {
		return err
	}
	if _, err := rd.until([]byte(">")); err != nil {
		return err
	}
	id := "fake" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := c.write([]byte("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='" +
		f.domain + "' id='" + id + "'>")); err != nil {
		return err
	}
	if _, err := rd.until(tagHandshake); err != nil {
		return err
	}
	hs, err := rd.until(tagHandshakeEnd)
	if err != nil {
		return err
	}
	sum := sha1.Sum([]byte(id + f.secret))
	if string(bytes.TrimSpace(hs[:len(hs)-len(tagHandshakeEnd)])) != hex.EncodeToString(sum[:]) {
		_ = c.write([]byte("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"))
		return errors.New("fake: bad handshake")
	}
	if err := c.write([]byte("<handshake/>")); err != nil {
		return err
	}

	var out []byte
	var st stanza
	for {
		// Answer every complete stanza read so far, then write once.
		out = out[:0]
		got := int64(0)
		for {
			n, closed := st.parse(rd.data())
			if closed {
				_ = c.write(append(out, tagClose...))
				return nil
			}
			if n == 0 {
				break
			}
			out = f.answer(c, &st, out)
			rd.consume(n)
			got++
		}
		if got > 0 {
			f.reads.Add(1)
			f.stanzas.Add(got)
		}
		if len(out) > 0 {
			if err := c.write(out); err != nil {
				return err
			}
		}
		if err := rd.fill(); err != nil {
			return err
		}
	}
}

// stanza is one top-level element, its attributes as raw (still escaped)
// bytes pointing into the read buffer.
type stanza struct {
	name, typ, id, from, to []byte
	raw                     []byte
}

// parse reads one stanza from the front of b. It returns the bytes it
// spans, 0 if b holds no complete stanza yet, and closed at
// </stream:stream>. It relies on what encoding/xml writes: every '<' and
// '>' inside attribute values and text is escaped, and muc-kick never
// nests an element in one of the same name.
func (st *stanza) parse(b []byte) (n int, closed bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	if i == len(b) {
		return 0, false
	}
	if bytes.HasPrefix(b[i:], tagClose) {
		return 0, true
	}
	if len(b[i:]) < len(tagClose) && bytes.HasPrefix(tagClose, b[i:]) {
		return 0, false
	}
	if b[i] != '<' {
		return 0, true // not XML we understand: end the stream
	}
	gt := bytes.IndexByte(b[i:], '>')
	if gt < 0 {
		return 0, false
	}
	gt += i
	start := b[i+1 : gt]
	selfClosing := len(start) > 0 && start[len(start)-1] == '/'
	if selfClosing {
		start = start[:len(start)-1]
	}
	j := 0
	for j < len(start) && start[j] != ' ' {
		j++
	}
	name := start[:j]
	end := gt + 1
	if !selfClosing {
		var closeTag [32]byte
		ct := append(append(append(closeTag[:0], "</"...), name...), '>')
		k := bytes.Index(b[gt+1:], ct)
		if k < 0 {
			return 0, false
		}
		end = gt + 1 + k + len(ct)
	}
	*st = stanza{name: name, raw: b[i:end]}
	attrs := start[j:]
	for len(attrs) > 0 {
		eq := bytes.IndexByte(attrs, '=')
		if eq < 0 || eq+1 >= len(attrs) {
			break
		}
		key := bytes.TrimSpace(attrs[:eq])
		q := attrs[eq+1]
		rest := attrs[eq+2:]
		e := bytes.IndexByte(rest, q)
		if e < 0 {
			break
		}
		val := rest[:e]
		switch string(key) {
		case "type":
			st.typ = val
		case "id":
			st.id = val
		case "from":
			st.from = val
		case "to":
			st.to = val
		}
		attrs = rest[e+1:]
	}
	return end, false
}

// answer appends the replies to st to out.
func (f *fakeXMPP) answer(c *fakeConn, st *stanza, out []byte) []byte {
	switch string(st.name) {
	case "iq":
		if string(st.typ) != "set" && string(st.typ) != "get" {
			return out
		}
		if !bytes.Contains(st.raw, nsAdmin) {
			return appendResult(out, st) // a ping
		}
		if bytes.IndexByte(st.from, '/') < 0 {
			f.kicksBare.Add(1)
			if f.kickBareOK.Load() {
				return appendResult(out, st)
			}
			out = append(out, `<iq type="error" id="`...)
			out = append(out, st.id...)
			out = append(out, `" from="`...)
			out = append(out, st.to...)
			out = append(out, `" to="`...)
			out = append(out, st.from...)
			return append(out, `"><error type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`...)
		}
		f.kicksFull.Add(1)
		if f.hold.Load() {
			f.mu.Lock()
			f.holding = append(f.holding, heldIQ{c: c, reply: appendResult(nil, st)})
			f.mu.Unlock()
			f.held.Add(1)
			return out
		}
		return appendResult(out, st)
	case "presence":
		if string(st.typ) == "unavailable" {
			f.leaves.Add(1)
			out = append(out, `<presence type="unavailable" from="`...)
			out = append(out, st.to...)
			out = append(out, `" to="`...)
			out = append(out, st.from...)
			return append(out, `"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="owner" role="none"/><status code="110"/></x></presence>`...)
		}
		if len(st.typ) == 0 && bytes.Contains(st.raw, nsMUCJoin) {
			f.joins.Add(1)
			out = append(out, `<presence from="`...)
			out = append(out, st.to...)
			out = append(out, `" to="`...)
			out = append(out, st.from...)
			return append(out, `"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="owner" role="moderator"/><status code="110"/></x></presence>`...)
		}
	}
	return out
}

func appendResult(out []byte, st *stanza) []byte {
	out = append(out, `<iq type="result" id="`...)
	out = append(out, st.id...)
	out = append(out, `" from="`...)
	out = append(out, st.to...)
	out = append(out, `" to="`...)
	out = append(out, st.from...)
	return append(out, `"/>`...)
}

func (f *fakeXMPP) String() string {
	return fmt.Sprintf("kicks from the bare JID %d, from the room %d, entries %d, leaves %d, held %d; %.2f stanzas per read",
		f.kicksBare.Load(), f.kicksFull.Load(), f.joins.Load(), f.leaves.Load(), f.held.Load(), float64(f.stanzas.Load())/float64(max(1, f.reads.Load())))
}
