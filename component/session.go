package component

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/muc-kick/muc-kick/internal/xmltok"
	"github.com/muc-kick/muc-kick/internal/xmpperr"
	"gosrc.io/xmpp/stanza"
)

// writeTimeout bounds one write to the socket, so a server that stops
// reading cannot block a sender for ever.
const writeTimeout = 10 * time.Second

// session is one authenticated XEP-0114 stream. It owns its net.Conn, its
// read loop and the IQs waiting for a reply on it; when the stream ends, every
// waiter learns at once through done.
//
// A stream's life:
//
//	dial ──▶ handshake ──▶ open ──▶ closed
//	             │                    ▲
//	             └── refused, failed ─┘
//
// In open, the read loop (readLoop) takes the stream one top-level element
// at a time, as bytes (a frame), and only then decodes it, so that what
// cannot be decoded costs one element, never the stream:
//
//	event on the stream                        what happens
//	<message>, <presence> not from a room      read past unread, handed on as unwanted (Component counts it)
//	<message> from a room's occupant           read past unread, handed on as unwanted (Component passes its attributes on)
//	any element over maxElements or maxDepth   its rest read past unread, handed on as over a bound
//	<iq>, <message>, <presence> ≤ maxFrame     decoded as read, handed on as a frame (Component dispatches it)
//	any other element ≤ maxFrame               handed on as a frame (Component drops and counts it)
//	any element > maxFrame                     read on without keeping it, handed on as oversized
//	<stream:error>                             closed
//	</stream:stream>                           closed
//	XML that is not well-formed, EOF, I/O err  closed
//	a comment, PI, DTD or entity XMPP forbids  closed (not well-formed: RFC 6120 §11.1)
//	whitespace between elements                ignored (servers send it as a keepalive)
//	a write that fails or times out            closed
//	close (our shutdown)                       </stream:stream>, then closed
type session struct {
	conn      net.Conn
	tok       *xmltok.Scanner // the stream's tokens, and its bytes kept so frames can be cut out
	dec       *xml.Decoder    // tok's tokens with their namespaces and nesting checked
	nsContext []byte          // an opening tag with the stream header's namespace declarations

	// out feeds the one goroutine that writes to the socket (writeLoop):
	// it encodes each stanza with encoding/xml into a buffer and flushes
	// when the queue is empty, so a burst of kicks shares few syscalls and
	// no sender runs the encoder on its own stack. gosrc.io/xmpp's
	// Component has no write lock at all.
	out chan any

	pmu     sync.Mutex
	pending map[string]*waiter

	done    chan struct{} // closed when the stream is gone
	errOnce sync.Once
	err     error // why the stream ended; set before done is closed
}

// fail ends the session with err; only the first reason is kept. The
// reason says why the stream ended, not what became of a request: requests
// get it inside ErrDisconnected or ErrNotConnected, so a reason in a class of
// its own (a keepalive's ErrTimeout) would put them in two. Of such a reason
// only the text is kept.
func (s *session) fail(err error) {
	if xmpperr.Class(err) != nil {
		err = errors.New(err.Error())
	}
	s.errOnce.Do(func() {
		s.err = err
		close(s.done)
		s.conn.Close()
	})
}

// send queues one stanza (a value encoding/xml marshals) for the writer.
// It returns once the stanza is queued; if the write fails later, the session
// fails, which every IQ waiter sees at once. A stanza that could not be queued
// because the stream is gone was not sent: the error wraps ErrNotConnected and
// the reason the stream ended.
func (s *session) send(v any) error {
	select {
	case <-s.done:
		return fmt.Errorf("%w: %w", ErrNotConnected, s.err)
	default:
	}
	select {
	case s.out <- v:
		return nil
	case <-s.done:
		return fmt.Errorf("%w: %w", ErrNotConnected, s.err)
	}
}

// read makes r the stream the session reads.
func (s *session) read(r io.Reader) {
	s.tok = xmltok.New(r)
	s.dec = xml.NewTokenDecoder(s.tok)
}

// endStream is queued by close: the writer sends </stream:stream> after
// every stanza queued before it.
type endStream struct{}

// deadlineWriter gives each write to the socket its own deadline, whether
// bufio.Writer flushes because its buffer is full or because it is told to.
type deadlineWriter struct{ conn net.Conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	_ = w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.conn.Write(p)
}

// writeLoop writes queued stanzas until the session ends.
func (s *session) writeLoop() {
	bw := bufio.NewWriterSize(deadlineWriter{s.conn}, 16<<10)
	enc := xml.NewEncoder(bw)
	for {
		var v any
		select {
		case v = <-s.out:
		case <-s.done:
			return
		}
		for more := true; more; {
			var err error
			if _, ok := v.(endStream); ok {
				_, err = bw.WriteString("</stream:stream>")
			} else {
				err = enc.Encode(v) // Encode flushes into bw, not to the socket
			}
			if err != nil {
				s.fail(fmt.Errorf("component: write: %w", err))
				return
			}
			select {
			case v = <-s.out:
			default:
				more = false
			}
		}
		if err := bw.Flush(); err != nil {
			s.fail(fmt.Errorf("component: write: %w", err))
			return
		}
	}
}

// close ends the stream politely: </stream:stream> after what is queued,
// then waits up to grace for the server's own close before dropping the
// connection.
func (s *session) close(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case s.out <- endStream{}:
		select {
		case <-s.done:
		case <-t.C:
		}
	case <-s.done:
	case <-t.C:
	}
	s.fail(ErrClosed)
}

// readLoop takes the stream one top-level element at a time and hands each
// to handle as a frame, until the stream ends (see session's table). Unlike
// gosrc.io/xmpp v0.5.1's loop, it notices </stream:stream>, and an element
// that does not decode is handle's to drop: it never ends the stream.
//
// want sees each element's start tag first: an element it refuses is read
// past without tokenizing its content, and handed on as unwanted.
func (s *session) readLoop(want func(xml.StartElement) int, handle func(frame)) {
	for {
		off := s.tok.Offset()
		s.tok.Forget(off)
		tok, err := s.dec.Token()
		if err != nil {
			s.fail(streamReadError(err))
			return
		}
		switch t := tok.(type) {
		case xml.EndElement: // the decoder checks nesting: only </stream:stream> gets here
			s.fail(errors.New("component: the server closed the stream"))
			return
		case xml.StartElement:
			var f frame
			if limit := want(t); limit > 0 {
				f, err = s.readFrame(t, off, limit)
			} else {
				f, err = s.skipFrame(t, off)
			}
			if err != nil {
				s.fail(err)
				return
			}
			if t.Name.Space == stanza.NSStream && t.Name.Local == "error" {
				s.fail(streamError(s, f))
				return
			}
			handle(f)
		default:
			// Whitespace (a server's keepalive): nothing to do. (Comments
			// and processing instructions end the stream: tok refuses them.)
		}
	}
}

// streamError describes a <stream:error> frame.
func streamError(s *session, f frame) error {
	if !f.oversized() {
		if p, err := s.decode(f); err == nil {
			if v, ok := p.(stanza.StreamError); ok {
				return fmt.Errorf("component: stream error: %s %s", v.Error.Local, v.Text)
			}
		}
	}
	return errors.New("component: stream error (undecodable)")
}
