package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gosrc.io/xmpp/stanza"
)

// Dispatch: what the read loop does with each top-level element it took.

// wants reports whether the read loop should read and decode the element
// that start opens: anything but a presence or message (in the stream's
// namespace) that comes from no room domain (see Options.RoomDomains).
// It sees the start tag only: what it refuses costs a byte scan.
//
// It returns how many elements the read loop may tokenize in it (0: skip
// it unread): maxElements, or maxReplyElements for a message from a room's
// bare JID (an archived message muc-kick asked for: only the room can send
// from that address, its occupants send from room/nick), whose content is
// what an occupant posted. Any other message from a room domain (what an
// occupant says in the room, or to muc-kick) is skipped unread too: the
// handler gets its attributes alone (see headOnly).
func (c *Component) wants(start xml.StartElement) int {
	if start.Name.Space != stanza.NSComponent && start.Name.Space != stanza.NSClient ||
		start.Name.Local != "presence" && start.Name.Local != "message" {
		return maxElements
	}
	var from string
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "from" {
			from = a.Value
		}
	}
	room := onDomain(from, c.roomDomains)
	switch {
	case room && start.Name.Local == "message" && isBareRoom(from):
		return maxReplyElements
	case room && start.Name.Local == "message":
		return 0 // handed on by its attributes (headOnly)
	case len(c.opts.RoomDomains) == 0 || room || c.isServer(from):
		return maxElements
	}
	return 0
}

// handleFrame decodes one top-level element and dispatches it. Nothing in it
// can end the stream: a frame that does not decode, or whose decoding or
// dispatch panics, is dropped (see drop).
func (c *Component) handleFrame(s *session, f frame) {
	decoded := false
	defer func() {
		if v := recover(); v != nil {
			if decoded {
				c.drop(s, f, fmt.Errorf("panic while dispatching: %v", v), "cancel", "internal-server-error")
			} else {
				c.drop(s, f, fmt.Errorf("panic while decoding: %v", v), "modify", "bad-request")
			}
		}
	}()
	if f.unwanted {
		if m, ok := c.headOnly(f); ok {
			decoded = true
			c.dispatch(s, f, m)
			return
		}
		c.ignored.Add(1)
		return
	}
	if f.oversized() {
		err := fmt.Errorf("larger than %d KiB (%d bytes)", maxFrame>>10, f.size)
		c.drop(s, f, err, "modify", "policy-violation")
		if f.isIQReply() {
			c.deliverUndecodable(s, f, err) // its waiter fails now, not at its timeout
		}
		return
	}
	if f.over != "" {
		c.drop(s, f, errors.New(f.over), "modify", "bad-request")
		if f.isIQReply() {
			c.deliverUndecodable(s, f, errors.New(f.over))
		}
		return
	}
	p, err := f.packet, f.decodeErr
	switch {
	case f.decodePanic:
		c.drop(s, f, err, "modify", "bad-request")
		return
	case !decodesInPlace(f.start):
		p, err = s.decode(f)
	}
	if err != nil {
		c.drop(s, f, err, "modify", "bad-request")
		if f.isIQReply() {
			c.deliverUndecodable(s, f, err) // after the count, so a waiter that returns sees it
		}
		// What of a presence or message does decode still counts: a room
		// relays an occupant's presence with that occupant's own children.
		if p, ok := s.decodeLenient(f); ok {
			decoded = true
			c.dispatch(s, f, p)
		}
		return
	}
	decoded = true
	c.dispatch(s, f, p)
}

// dispatch routes one decoded top-level element.
func (c *Component) dispatch(s *session, f frame, p stanza.Packet) {
	switch v := p.(type) {
	case stanza.Message, stanza.Presence:
		if c.handler != nil {
			c.handler.HandlePacket(p)
		}
	case *stanza.IQ:
		switch v.Type {
		case stanza.IQTypeResult, stanza.IQTypeError:
			if !s.deliver(v) {
				c.unmatched.Add(1)
				if c.log.Enabled(context.Background(), slog.LevelDebug) { // its arguments built only for a line written
					c.log.Debug("component: dropped a reply nobody waits for", "id", clip(v.Id), "from", clip(v.From))
				}
				// Evidence of a shared domain only from the server itself
				// (the probes' pings): anyone can send a result with any
				// id, but not from the server's address, which the server
				// stamps on what its users send.
				if c.foreignID(v.Id) && c.isServer(v.From) {
					c.sawForeignReply(s, v.Id)
				}
			}
		case stanza.IQTypeGet, stanza.IQTypeSet:
			c.answerIQ(s, f)
		default:
			c.drop(s, f, fmt.Errorf("iq of type %q", v.Type), "", "")
		}
	default:
		// A handshake, stream features, SASL or stream-management element,
		// or another element gosrc.io/xmpp decodes: not a stanza for us.
		c.drop(s, f, fmt.Errorf("<%s xmlns=%q> is not a stanza", f.start.Name.Local, f.start.Name.Space), "", "")
	}
}

// dropLogEvery spaces out the log lines about dropped elements: a stranger
// who sends thousands gets one line every few seconds, with a count.
const dropLogEvery = 5 * time.Second

// drop counts a received element that cannot be used, logs it (rate-limited)
// and, if it is an IQ get or set, answers it with an IQ error of errType and
// condition. Nothing else is ever answered: not a result or an error (that
// could loop between two entities), not a message or presence.
func (c *Component) drop(s *session, f frame, reason error, errType, condition string) {
	c.malformed.Add(1)
	if ok, held := c.dropLog.allow(); ok {
		c.log.Warn("component: dropped a received element", "element", clip(f.start.Name.Local), "type", clip(f.attr("type")),
			"from", clip(f.attr("from")), "id", clip(f.attr("id")), "bytes", f.size, "reason", clip(reason.Error()), "also_dropped_since_last_line", held)
	}
	if condition != "" && f.isIQRequest() {
		c.answerError(s, f, errType, condition)
	}
}

// deliverUndecodable hands a reply that did not decode to the request waiting
// for it, if any, as what can be read of it: an error reply becomes a
// StanzaError undefined-condition, a result a result without payload. The
// waiter then learns the server's answer instead of timing out.
func (c *Component) deliverUndecodable(s *session, f frame, err error) {
	iq := &stanza.IQ{Attrs: stanza.Attrs{Type: stanza.StanzaType(f.attr("type")), Id: f.attr("id"), From: f.attr("from"), To: f.attr("to")}}
	if iq.Type == stanza.IQTypeError {
		iq.Error = &stanza.Err{Type: stanza.ErrorTypeCancel, Reason: "undefined-condition", Text: "the reply could not be decoded: " + clip(err.Error())}
	}
	if !s.deliver(iq) {
		c.unmatched.Add(1)
	}
}

// headOnly is the message of a skipped frame that wants read past because
// only its attributes matter: one from a room domain that is not an archived
// message (an occupant's message in the room, or to muc-kick). muc-kick
// needs to know that a room sent it, never what it says (the adaptive room
// policy counts what staying in a room costs; retraction reads the
// archive), so the message is never tokenized, however long, and the
// handler gets a stanza.Message of its attributes, without a body.
func (c *Component) headOnly(f frame) (stanza.Message, bool) {
	if f.start.Name.Local != "message" || len(c.opts.RoomDomains) == 0 || !onDomain(f.attr("from"), c.roomDomains) {
		return stanza.Message{}, false
	}
	return stanza.Message{Attrs: stanza.Attrs{Type: stanza.StanzaType(f.attr("type")), Id: f.attr("id"),
		From: f.attr("from"), To: f.attr("to")}}, true
}
