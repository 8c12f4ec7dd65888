package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gosrc.io/xmpp/stanza"
)

// IQs: the requests the component sends and the table of those waiting for
// a reply, and its answers to the requests it receives.

// Send sends a stanza (a struct that encoding/xml marshals to a <presence>
// or <message>) without waiting for an answer. It fails with an error
// wrapping ErrNotConnected when there is no stream or the stream ended
// before the stanza could be queued: then it was not sent.
func (c *Component) Send(v any) error {
	s := c.current()
	if s == nil {
		return ErrNotConnected
	}
	return s.send(v)
}

// IQ sends an IQ request of type typ ("get" or "set") from from (the
// component's domain if empty) to to, carrying payload, and waits for the
// reply. A type error reply is returned as *StanzaError. It gives up after
// the IQ timeout with ErrTimeout, and at once with ErrDisconnected when the
// stream ends after the request was queued, or with ErrNotConnected when
// there is no stream (then the request was not sent).
func (c *Component) IQ(ctx context.Context, typ, from, to string, payload any) (*stanza.IQ, error) {
	s := c.current()
	if s == nil {
		return nil, ErrNotConnected
	}
	if from == "" {
		from = c.opts.Domain
	}
	r, err := c.sendIQ(ctx, s, rawIQ{Type: typ, From: from, To: to, Payload: payload}, c.opts.IQTimeout)
	if errors.Is(err, ErrTimeout) {
		c.suspect(s) // a lost reply: is it the server, or another stream on our domain?
	}
	return r, err
}

// sendIQ sends iq on s and waits for its reply, at most timeout, or until the
// session or ctx ends. A plain timer is cheaper than a context per IQ.
func (c *Component) sendIQ(ctx context.Context, s *session, iq rawIQ, timeout time.Duration) (*stanza.IQ, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	if iq.From == "" {
		iq.From = c.opts.Domain
	}
	iq.ID = c.idPrefix + strconv.FormatUint(c.idCounter.Add(1), 36)
	w := s.register(iq.ID, iq.To) // before the send: a fast reply must find its waiter
	defer s.unregister(iq.ID)
	if err := s.send(iq); err != nil {
		return nil, err // wraps ErrNotConnected: the request was not sent
	}
	select {
	case r := <-w.reply:
		if r.Type == stanza.IQTypeError {
			return r, stanzaError(r)
		}
		return r, nil
	case <-s.done:
		return nil, fmt.Errorf("%w: %w", ErrDisconnected, s.err)
	case <-t.C:
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func stanzaError(iq *stanza.IQ) *StanzaError {
	if iq.Error == nil {
		return &StanzaError{Type: "cancel", Condition: "undefined-condition"}
	}
	cond := iq.Error.Reason
	if cond == "" {
		cond = "undefined-condition"
	}
	return &StanzaError{Type: string(iq.Error.Type), Condition: cond, Text: iq.Error.Text}
}

// waiter is one IQ waiting for its reply.
type waiter struct {
	to    string          // the address the request went to; the reply must come from it
	reply chan *stanza.IQ // buffered: the read loop never blocks on a waiter
}

// register records a waiter for the reply to id before the request is sent.
func (s *session) register(id, to string) *waiter {
	w := &waiter{to: to, reply: make(chan *stanza.IQ, 1)}
	s.pmu.Lock()
	s.pending[id] = w
	s.pmu.Unlock()
	return w
}

func (s *session) unregister(id string) {
	s.pmu.Lock()
	delete(s.pending, id)
	s.pmu.Unlock()
}

// deliver hands a reply to its waiter. A reply with an unknown or expired id,
// or from another address than the request went to, is dropped.
func (s *session) deliver(iq *stanza.IQ) bool {
	s.pmu.Lock()
	w, ok := s.pending[iq.Id]
	if ok && sameJID(w.to, iq.From) {
		delete(s.pending, iq.Id)
	} else {
		ok = false
	}
	s.pmu.Unlock()
	if ok {
		w.reply <- iq // never blocks: buffered, one reply per waiter
	}
	return ok
}

// awaits reports whether a reply from from with id would find its waiter.
func (s *session) awaits(id, from string) bool {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	w, ok := s.pending[id]
	return ok && sameJID(w.to, from)
}

// inFlight is the number of IQs waiting for a reply.
func (s *session) inFlight() int {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return len(s.pending)
}

// answerIQ answers a request addressed to the component. RFC 6120 §8.2.3: a
// get or set carries exactly one child (else bad-request); §8.4: an unknown
// namespace gets service-unavailable. XEP-0199 pings from the server get a
// result; a ping from anyone else gets service-unavailable, as if pings were
// not supported, so that a stranger learns nothing but an IQ error; another
// element in the ping namespace gets feature-not-implemented.
func (c *Component) answerIQ(s *session, f frame) {
	switch {
	case f.children != 1:
		c.answerError(s, f, "modify", "bad-request")
	case f.child.Space != nsPing:
		c.answerError(s, f, "cancel", "service-unavailable")
	case f.child.Local != "ping" || f.attr("type") != "get":
		c.answerError(s, f, "cancel", "feature-not-implemented")
	case !c.isServer(f.attr("from")):
		c.answerError(s, f, "cancel", "service-unavailable")
	default:
		c.answer(s, rawIQ{Type: "result", ID: f.attr("id"), From: c.replyFrom(f.attr("to")), To: f.attr("from")})
	}
}

// answerError answers the IQ request f with an error built from f's
// attributes alone, so it works for a request that did not decode.
func (c *Component) answerError(s *session, f frame, errType, condition string) {
	c.answer(s, rawIQ{Type: "error", ID: f.attr("id"), From: c.replyFrom(f.attr("to")), To: f.attr("from"),
		Error: &rawError{Type: errType, Condition: xml.Name{Space: nsStanzas, Local: condition}}})
}

func (c *Component) answer(s *session, reply rawIQ) {
	if reply.To == "" {
		return // nobody to answer: the server would take the reply for itself
	}
	if err := s.send(reply); err != nil {
		c.log.Debug("component: cannot answer iq", "err", err)
	}
}

// replyFrom is the from of a reply to a stanza sent to to: to itself if it
// is the component's domain or a JID on it, else the domain. Every stanza
// sent carries a from (Prosody 13 closes a component stream that sends one
// without), and only one of the component's own.
func (c *Component) replyFrom(to string) string {
	if onDomain(to, []string{c.domain}) {
		return to
	}
	return c.opts.Domain
}
