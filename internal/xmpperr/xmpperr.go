// Package xmpperr is the vocabulary of what can become of a request sent to
// the XMPP server, shared by the package that carries requests (component)
// and the one that makes them (muc), in the spirit of database/sql/driver:
// component's errors fall into the classes below, muc re-exports the classes
// and StanzaError, and muc's callers need neither component nor this package.
//
// A request ends in one of four ways besides success: the server answers
// with an error (a *StanzaError), or it is not sent (ErrUnavailable), or it
// is sent and no answer comes in time (ErrNoAnswer), or it is sent and the
// stream ends before the answer (ErrStreamLost). Callers test the classes
// with errors.Is; an error is in one class at most.
package xmpperr

import "errors"

// The classes of a request that got no answer from the server.
var (
	// ErrUnavailable: the request was not sent, because there is no stream
	// (or none fit for requests) or the sender is shutting down. Trying
	// again later may work.
	ErrUnavailable = errors.New("xmpperr: not sent: no stream to send on")
	// ErrNoAnswer: the request was sent and no answer came in time. It may
	// or may not have been carried out.
	ErrNoAnswer = errors.New("xmpperr: sent, but no answer came in time")
	// ErrStreamLost: the request was sent and the stream ended before the
	// answer came. It may or may not have been carried out.
	ErrStreamLost = errors.New("xmpperr: sent, but the stream ended before the answer")
)

// Class returns the class err is in (ErrUnavailable, ErrNoAnswer or
// ErrStreamLost), or nil.
func Class(err error) error {
	for _, c := range []error{ErrUnavailable, ErrNoAnswer, ErrStreamLost} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// New returns an error with the given text in class (one of the classes
// above): errors.Is(err, class) holds, and the text does not repeat the
// class's. Packages define their own sentinels with it, as
// component.ErrTimeout is New(ErrNoAnswer, "component: no reply within the
// IQ timeout").
func New(class error, text string) error { return &classed{text: text, class: class} }

type classed struct {
	text  string
	class error
}

func (e *classed) Error() string { return e.text }
func (e *classed) Unwrap() error { return e.class }

// StanzaError is an XMPP stanza error (RFC 6120 §8.3): the server's error
// reply to a request, or an error presence.
type StanzaError struct {
	Type      string // cancel, modify, auth, wait, continue
	Condition string // e.g. item-not-found
	Text      string // optional human-readable text from the server
}

func (e *StanzaError) Error() string {
	s := "xmpp error " + e.Type + "/" + e.Condition
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Is reports whether target is a *StanzaError with the same condition (and
// the same type, if target sets one), so callers can write
// errors.Is(err, &StanzaError{Condition: "not-allowed"}).
func (e *StanzaError) Is(target error) bool {
	t, ok := target.(*StanzaError)
	return ok && t.Condition == e.Condition && (t.Type == "" || t.Type == e.Type)
}
