package component

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"

	"gosrc.io/xmpp/stanza"
)

// maxFrame is the largest top-level element the read loop keeps in memory to
// decode. A kick's reply is well under 1 KiB and a room's presence a few KiB;
// 256 KiB leaves room for any stanza a component has reason to read, and bounds
// what a stranger can make muc-kick hold. A larger element is read on token by
// token without keeping its bytes (one token, such as a long text, is still
// held whole by encoding/xml: the server's own stanza size limit bounds it),
// then dropped and counted.
const maxFrame = 256 << 10

// maxElements and maxDepth bound what the read loop tokenizes of one
// top-level element: the elements inside it, and how deep they nest below
// it. A room's presence has a few dozen elements, three levels deep; the
// disco#info and version replies muc-kick asks for, under a hundred. The
// rest of an element over a bound is skipped unread
// (xmltok.Scanner.SkipContent), and the element dropped: tokenizing costs
// allocations per token, skipping a byte scan.
//
// A reply to a request of ours may hold more: an affiliation list (a ban
// checks who owns the room, an unban who is banned) has an element per JID,
// and only the room asked can send it (the server stamps from). So may a
// message from a room's bare JID (an archived message, which holds what an
// occupant posted). These are bound by maxReplyElements and maxFrame
// instead.
const (
	maxElements      = 256
	maxReplyElements = 8192
	maxDepth         = 32
)

// frame is one top-level element of the stream, taken as bytes by the read
// loop before anything tries to decode it.
type frame struct {
	start    xml.StartElement // as the stream's decoder resolved it (namespaces included)
	raw      []byte           // the element's exact bytes; valid only until the handler returns; nil if not kept
	size     int64            // bytes the element took on the stream
	children int              // direct child elements (of those read before a bound was hit)
	child    xml.Name         // the first direct child's name

	unwanted bool   // skipped unread after its start tag: the read loop's want refused it
	over     string // which bound the element broke, "" if none; its rest was skipped unread

	// A stanza (iq, presence, message) decoded as read (decodeInPlace):
	// packet if it decoded, else decodeErr, with decodePanic if that was a
	// payload decoder's panic. Both nil for other elements and for one
	// skipped at a bound; one over maxFrame is dropped whatever they hold.
	packet      stanza.Packet
	decodeErr   error
	decodePanic bool
}

// oversized reports whether the element was larger than maxFrame and skipped.
func (f *frame) oversized() bool { return f.raw == nil && !f.unwanted && f.over == "" }

// attr is the value of the element's un-namespaced attribute name, or "".
func (f *frame) attr(name string) string {
	for _, a := range f.start.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// isIQRequest reports whether the frame is an IQ of type get or set, the only
// stanzas muc-kick ever answers.
func (f *frame) isIQRequest() bool {
	if f.start.Name.Local != "iq" || (f.start.Name.Space != stanza.NSComponent && f.start.Name.Space != stanza.NSClient) {
		return false
	}
	t := f.attr("type")
	return t == "get" || t == "set"
}

// isIQReply reports whether the frame is an IQ of type result or error.
func (f *frame) isIQReply() bool {
	if f.start.Name.Local != "iq" || (f.start.Name.Space != stanza.NSComponent && f.start.Name.Space != stanza.NSClient) {
		return false
	}
	t := f.attr("type")
	return t == "result" || t == "error"
}

// errNotWellFormed marks a stream that is not XML: fatal, unlike a frame that
// is XML but does not decode.
var errNotWellFormed = errors.New("component: the stream is not well-formed XML")

// readFrame reads the rest of the element that start opened (start began at
// stream offset off), tokenizing at most limit elements in it
// (maxReplyElements for a reply to a request of ours), and returns it as a
// frame. A stanza (iq, presence, message) is decoded from the tokens as
// they are read (decodeInPlace). An error is a fault of the stream itself
// (not well-formed, closed), not of the element.
func (s *session) readFrame(start xml.StartElement, off int64, limit int) (frame, error) {
	f := frame{start: start}
	if f.isIQReply() && s.awaits(f.attr("id"), f.attr("from")) {
		limit = maxReplyElements
	}
	r := frameReader{s: s, f: &f, off: off, limit: limit, depth: 1}
	if decodesInPlace(start) {
		r.decodeInPlace()
	}
	for r.depth > 0 {
		if _, err := r.next(); err != nil {
			break
		}
	}
	switch {
	case r.err == errOverBound:
		f.packet, f.decodeErr, f.decodePanic = nil, nil, false
		return s.skipRest(f, r.depth, off)
	case r.err != nil:
		return f, r.err
	}
	end := s.tok.Offset()
	f.size = end - off
	if !r.oversized {
		f.raw = s.tok.Since(off, end)
	}
	return f, nil
}

// skipFrame reads past the element that start opened (at stream offset off)
// without tokenizing its content, and returns it as an unwanted frame.
func (s *session) skipFrame(start xml.StartElement, off int64) (frame, error) {
	return s.skipRest(frame{start: start, unwanted: true}, 1, off)
}

// skipRest reads past the rest of f, whose last start tag the decoder has
// just read, depth levels deep, without keeping or tokenizing it: only
// the end tags of the depth open elements go through the decoder.
func (s *session) skipRest(f frame, depth int, off int64) (frame, error) {
	if s.tok.SelfClosing() {
		if _, err := s.dec.Token(); err != nil { // the end the decoder made up for it
			return f, streamReadError(err)
		}
		depth--
	}
	for ; depth > 0; depth-- {
		if err := s.tok.SkipContent(); err != nil {
			return f, streamReadError(err)
		}
		if _, err := s.dec.Token(); err != nil { // the end tag SkipContent stopped at
			return f, streamReadError(err)
		}
	}
	f.size = s.tok.Offset() - off
	return f, nil
}

// streamReadError names what went wrong reading the stream.
func streamReadError(err error) error {
	var serr *xml.SyntaxError
	if errors.As(err, &serr) {
		return fmt.Errorf("%w: %w", errNotWellFormed, err)
	}
	return fmt.Errorf("component: read: %w", err)
}

// namespaceContext returns an opening tag declaring the same namespaces as
// the stream header start, so that a frame decoded inside it resolves its
// names exactly as it did in place (the default jabber:component:accept, the
// stream: prefix, any other prefix the server declared).
func namespaceContext(start xml.StartElement) []byte {
	var b bytes.Buffer
	b.WriteString("<frame")
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			b.WriteString(" xmlns='")
		case a.Name.Space == "xmlns":
			b.WriteString(" xmlns:" + a.Name.Local + "='")
		default:
			continue
		}
		_ = xml.EscapeText(&b, []byte(a.Value))
		b.WriteString("'")
	}
	b.WriteString(">")
	return b.Bytes()
}

// decode parses a frame with gosrc.io/xmpp's stanza package, inside the
// stream's namespace context. It fails on anything that package cannot
// decode strictly (for instance a muc#user status code that is not a number).
func (s *session) decode(f frame) (stanza.Packet, error) {
	doc := make([]byte, 0, len(s.nsContext)+len(f.raw))
	doc = append(append(doc, s.nsContext...), f.raw...)
	dec := xml.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.Token(); err != nil { // the namespace context's own start tag
		return nil, err
	}
	return stanza.NextPacket(dec)
}

// decodeLenient decodes a presence or message that did not decode whole,
// one direct child at a time: the element's attributes, plus every child
// that decodes on its own. A presence relayed by a room carries its sender's
// own children (Prosody strips only the MUC ones), so one occupant's
// <priority>high</priority> must not hide the room's muc#user item, which
// says who that occupant is. It reports false when even the bare element
// does not decode.
func (s *session) decodeLenient(f frame) (stanza.Packet, bool) {
	if f.start.Name.Local != "presence" && f.start.Name.Local != "message" {
		return nil, false
	}
	doc := make([]byte, 0, len(s.nsContext)+len(f.raw))
	doc = append(append(doc, s.nsContext...), f.raw...)
	headEnd, tailStart, kids, ok := childSpans(doc)
	if !ok {
		return nil, false
	}
	with := func(kid []byte) (stanza.Packet, error) {
		one := make([]byte, 0, int(headEnd)+len(kid)+len(doc)-int(tailStart))
		one = append(append(append(one, doc[:headEnd]...), kid...), doc[tailStart:]...)
		d := xml.NewDecoder(bytes.NewReader(one))
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		return stanza.NextPacket(d)
	}
	base, err := with(nil)
	if err != nil {
		return nil, false
	}
	for _, k := range kids {
		if p, err := with(doc[k[0]:k[1]]); err == nil {
			base = mergeChild(base, p)
		} // else this child is what did not decode
	}
	return base, true
}

// childSpans finds, in doc (a namespace context wrapping one element), where
// the element's start tag ends, where its end tag starts, and the span of
// each direct child.
func childSpans(doc []byte) (headEnd, tailStart int64, kids [][2]int64, ok bool) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.Token(); err != nil { // the namespace context
		return 0, 0, nil, false
	}
	if _, err := dec.Token(); err != nil { // the element's start tag
		return 0, 0, nil, false
	}
	headEnd = dec.InputOffset()
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, nil, false
		}
		switch tok.(type) {
		case xml.StartElement:
			if err := dec.Skip(); err != nil {
				return 0, 0, nil, false
			}
			kids = append(kids, [2]int64{before, dec.InputOffset()})
		case xml.EndElement:
			return headEnd, before, kids, true
		}
	}
}

// mergeChild adds to base (a presence or message) what p, the same stanza
// with one child only, decoded from that child.
func mergeChild(base, p stanza.Packet) stanza.Packet {
	switch b := base.(type) {
	case stanza.Presence:
		c := p.(stanza.Presence)
		b.Show, b.Status, b.Priority = cmp.Or(c.Show, b.Show), cmp.Or(c.Status, b.Status), cmp.Or(c.Priority, b.Priority)
		if c.Error.Type != "" || c.Error.Reason != "" {
			b.Error = c.Error
		}
		b.Extensions = append(b.Extensions, c.Extensions...)
		return b
	case stanza.Message:
		c := p.(stanza.Message)
		b.Subject, b.Body, b.Thread = cmp.Or(c.Subject, b.Subject), cmp.Or(c.Body, b.Body), cmp.Or(c.Thread, b.Thread)
		if c.Error.Type != "" || c.Error.Reason != "" {
			b.Error = c.Error
		}
		b.Extensions = append(b.Extensions, c.Extensions...)
		return b
	}
	return base
}
