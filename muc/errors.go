package muc

import (
	"errors"
	"fmt"

	"github.com/muc-kick/muc-kick/internal/xmpperr"
)

// Outcomes of a kick that are not transport failures. Callers test them with
// errors.Is; the wrapped text says more.
var (
	// ErrUnknownDomain: the room is not on one of the configured MUC domains.
	ErrUnknownDomain = errors.New("muc: the room is not on a MUC domain this service acts on")
	// ErrRoomNotFound: the server has no such room.
	ErrRoomNotFound = errors.New("muc: the room does not exist")
	// ErrOccupantNotFound: nobody in the room has that nickname.
	ErrOccupantNotFound = errors.New("muc: no occupant matches")
	// ErrRefused: the server refused the kick (or the mute, ban… that
	// failed: the text names it) itself.
	ErrRefused = errors.New("muc: the server refused the kick")
	// ErrEntryRefused: the component could not enter the room as a moderator.
	ErrEntryRefused = errors.New("muc: the component could not enter the room")
	// ErrClosed: the manager is shutting down; nothing was sent (class
	// ErrUnavailable).
	ErrClosed = xmpperr.New(ErrUnavailable, "muc: shutting down")
)

// Outcomes of a request the server did not answer, whether a kick or an
// entry into a room. Each is a class: an error is in one at most, and
// callers test it with errors.Is.
var (
	// ErrUnavailable: nothing was sent: there is no stream, or the
	// component or the manager is shutting down. Trying again later may work.
	ErrUnavailable = xmpperr.ErrUnavailable
	// ErrNoAnswer: the request was sent and no answer came in time; it may
	// or may not have been carried out.
	ErrNoAnswer = xmpperr.ErrNoAnswer
	// ErrStreamLost: the request was sent and the stream ended before the
	// answer came; it may or may not have been carried out.
	ErrStreamLost = xmpperr.ErrStreamLost
)

// muc's own errors in those classes, for the words of the log and of
// `muc-kick check`.
var (
	errNotConnected = xmpperr.New(ErrUnavailable, "muc: not connected to the XMPP server")
	errEntryLost    = xmpperr.New(ErrStreamLost, "muc: the stream to the XMPP server ended during the entry")
	errEntryTimeout = xmpperr.New(ErrNoAnswer, "muc: the room did not answer the entry within the join timeout")
)

// StanzaError is an XMPP stanza error (RFC 6120 §8.3) the server answered
// with. errors.Is(err, &StanzaError{Condition: "not-allowed"}) tells a
// condition, of any type unless Type is set.
type StanzaError = xmpperr.StanzaError

var (
	errNotAllowed = &StanzaError{Condition: "not-allowed"}
	errForbidden  = &StanzaError{Condition: "forbidden"}
	errConflict   = &StanzaError{Condition: "conflict"}
	errNotFound   = &StanzaError{Condition: "item-not-found"}
)

// kickError turns the server's answer to a kick into one of the package's
// errors; inRoom says whether the kick came from a present moderator.
//
// Prosody and ejabberd answer a missing room with cancel/item-not-found.
// A missing nickname is modify/item-not-found on Prosody (even from outside
// the room: it looks the nick up first) and modify/not-acceptable on ejabberd.
func kickError(err error, inRoom bool) error {
	var serr *StanzaError
	if !errors.As(err, &serr) {
		return err // nil, or a transport failure
	}
	switch {
	case errors.Is(err, errNotFound) && (serr.Type == "cancel" || serr.Type != "modify" && !inRoom):
		return fmt.Errorf("%w (%w)", ErrRoomNotFound, serr)
	case errors.Is(err, errNotFound),
		errors.Is(err, &StanzaError{Condition: "not-acceptable"}):
		return fmt.Errorf("%w (%w)", ErrOccupantNotFound, serr)
	case errors.Is(err, errNotAllowed), errors.Is(err, errForbidden):
		return fmt.Errorf("%w (%w)", ErrRefused, serr)
	}
	return serr
}

// refusal is ErrRefused for another change than a kick, named in its text.
type refusal string

func (r refusal) Error() string        { return "muc: the server refused the " + string(r) }
func (r refusal) Is(target error) bool { return target == ErrRefused }

// refusedAs names what the server refused, when err is a refusal:
// ErrRefused's text speaks of a kick.
func refusedAs(what string, err error) error {
	var serr *StanzaError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &serr) {
		return err
	}
	return fmt.Errorf("%w (%w)", refusal(what), serr)
}
