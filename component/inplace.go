package component

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"gosrc.io/xmpp/stanza"
)

// frameReader hands the read loop's tokens of one top-level element, one at
// a time, counting them against the element's bounds (maxFrame, the
// elements limit, maxDepth). As an xml.TokenReader it lets a stanza be
// decoded from the tokens the read loop reads anyway, instead of
// tokenizing its bytes a second time (decodeInPlace).
type frameReader struct {
	s         *session
	f         *frame
	off       int64 // the stream offset the element began at
	limit     int   // elements it may hold
	depth     int   // elements open; 0 once the element has ended
	elements  int
	oversized bool  // past maxFrame: read on without keeping its bytes
	started   bool  // the element's start tag was handed out (Token)
	err       error // a fault of the stream itself, or errOverBound

	// For a presence or message (envelope): the packet type whose
	// payloads its decoder takes, and a token read ahead (see Token).
	envelope bool
	pkt      stanza.PacketType
	pending  xml.Token
}

// errOverBound stops the decoding of an element over maxElements or
// maxDepth: its rest is skipped unread.
var errOverBound = errors.New("component: element over a bound")

// errTooLarge stops the decoding of an element larger than maxFrame: it is
// read on without keeping it, and dropped.
var errTooLarge = errors.New("component: element too large")

// next reads the element's next token from the stream. It fails with the
// stream's own fault, or with errOverBound once a bound is broken (f.over
// says which).
func (r *frameReader) next() (xml.Token, error) {
	if r.err != nil {
		return nil, r.err
	}
	tok, err := r.s.dec.Token()
	if err != nil {
		r.err = streamReadError(err)
		return nil, r.err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if r.depth == 1 {
			if r.f.children == 0 {
				r.f.child = t.Name
			}
			r.f.children++
		}
		r.depth++
		r.elements++
		if !r.oversized && (r.elements > r.limit || r.depth-1 > maxDepth) {
			r.f.over = fmt.Sprintf("more than %d elements", r.limit)
			if r.depth-1 > maxDepth {
				r.f.over = fmt.Sprintf("nested deeper than %d", maxDepth)
			}
			r.err = errOverBound
			return nil, r.err
		}
	case xml.EndElement:
		r.depth--
	}
	end := r.s.tok.Offset()
	if !r.oversized && end-r.off > maxFrame {
		r.oversized = true
	}
	if r.oversized {
		r.s.tok.Forget(end) // read on without keeping the element
	}
	return tok, nil
}

// Token is next as an xml.TokenReader for one element's decoder: the
// element's start tag first, io.EOF after its end, errTooLarge once it is
// larger than maxFrame.
//
// In a presence or message, an empty direct child that gosrc.io/xmpp's
// UnmarshalXML has no use for (see uses) does not reach the decoder: it
// would only go through the decoder's namespace and nesting bookkeeping to
// be ignored (a flood of <a/> from a room, a <c/> of entity capabilities).
func (r *frameReader) Token() (xml.Token, error) {
	if t := r.pending; t != nil {
		r.pending = nil // read just before: a CharData's bytes are still valid
		return t, nil
	}
	for {
		switch {
		case !r.started:
			r.started = true
			return r.f.start, nil
		case r.depth == 0:
			return nil, io.EOF
		case r.oversized:
			return nil, errTooLarge
		}
		tok, err := r.next()
		start, ok := tok.(xml.StartElement)
		if err != nil || !ok || !r.envelope || r.depth != 2 || r.uses(start.Name) {
			return tok, err
		}
		after, err := r.next()
		if err != nil {
			return nil, err
		}
		if _, end := after.(xml.EndElement); !end {
			r.pending = after
			return tok, nil
		}
		// The child was empty: read on.
	}
}

// uses reports whether the UnmarshalXML of a presence or message acts on
// a direct child of this name: a payload registered for its packet type,
// one of its own children (taken by local name), or an element named as
// the stanza itself, whose end it would take for its own.
func (r *frameReader) uses(name xml.Name) bool {
	if name == r.f.start.Name || stanza.TypeRegistry.GetExtensionType(r.pkt, name) != nil {
		return true
	}
	switch name.Local {
	case "error":
		return true
	case "show", "status", "priority":
		return r.pkt == stanza.PKTPresence
	case "body", "subject", "thread":
		return r.pkt == stanza.PKTMessage
	}
	return false
}

// decodesInPlace reports whether the element that start opens is a
// stanza (an iq, presence or message in the stream's namespace), which
// readFrame decodes from the stream's tokens as it reads them
// (decodeInPlace).
func decodesInPlace(start xml.StartElement) bool {
	if start.Name.Space != stanza.NSComponent && start.Name.Space != stanza.NSClient {
		return false
	}
	switch start.Name.Local {
	case "iq", "presence", "message":
		return true
	}
	return false
}

// decodeInPlace decodes the stanza r reads with gosrc.io/xmpp's own
// UnmarshalXML, as decode would from the element's bytes: into f.packet,
// or f.decodeErr if it does not decode. The stream's
// decoder has resolved every name already, so no namespace context is
// needed. A panic of a payload's decoder is caught here: the element is
// then read to its end and dropped. Whatever the outcome, the element is
// left for readFrame to read to its end.
func (r *frameReader) decodeInPlace() {
	defer func() {
		if v := recover(); v != nil {
			r.f.packet, r.f.decodeErr, r.f.decodePanic = nil, fmt.Errorf("panic while decoding: %v", v), true
		}
	}()
	if r.f.start.Name.Local == "presence" {
		r.envelope, r.pkt = true, stanza.PKTPresence
		pres, err := r.decodePresence()
		if err != nil {
			r.f.decodeErr = err
			return
		}
		r.f.packet = pres
		return
	}
	d := xml.NewTokenDecoder(r)
	tok, err := d.Token() // r's start tag, so that d knows the element is open
	if err != nil {
		r.f.decodeErr = err
		return
	}
	start := tok.(xml.StartElement)
	var p stanza.Packet
	switch start.Name.Local { // as gosrc.io/xmpp's NextPacket makes them
	case "iq":
		iq := &stanza.IQ{}
		err = d.DecodeElement(iq, &start)
		p = iq
	default:
		r.envelope, r.pkt = true, stanza.PKTMessage
		var msg stanza.Message
		err = d.DecodeElement(&msg, &start)
		p = msg
	}
	if err != nil {
		r.f.decodeErr = err
		return
	}
	r.f.packet = p
}
