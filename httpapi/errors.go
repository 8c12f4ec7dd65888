package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/muc-kick/muc-kick/muc"
)

// Errors of request handling; errorTable says how each is answered.
var (
	errUnauthorized = errors.New("missing or wrong Authorization header")
	errBadRequest   = errors.New("bad request")
	errTooLarge     = errors.New("request body too large")
	errNotReady     = errors.New("not connected to the XMPP server; try again shortly")
	errOutOfScope   = errors.New("this client may not act on that room")
	errNotAllowed   = errors.New("this client may not")
	errRateLimited  = errors.New("too many requests from this client")
	errThrottled    = errors.New("too many failed authentications from this address")
	errBusy         = errors.New("too many kicks in flight; try again shortly")
	errCrossOrigin  = errors.New("cross-origin requests from web browsers are refused: call this API from a server, not from a web page")
)

// An errorRow is how a failed moderation request is answered: its status,
// the message the client reads, and the outcome word of the audit log and
// the metrics.
type errorRow struct {
	is      func(error) bool
	code    int
	outcome string
	message func(error, action) string
}

// errorTable maps every failure of a moderation request, this package's and
// muc's, to its answer; the first row that matches wins. (The router's 404,
// 405 and 500 and /readyz's 503 are answered where they are set up, in New.)
var errorTable = []errorRow{
	{isAny(errUnauthorized), http.StatusUnauthorized, "unauthorized", own},
	{isAny(errCrossOrigin), http.StatusForbidden, "cross-origin", own},
	{isAny(errNotAllowed), http.StatusForbidden, "action-not-allowed", own},
	{isAny(errOutOfScope), http.StatusForbidden, "forbidden", own},
	{isAny(errRateLimited), http.StatusTooManyRequests, "too-many-requests", own},
	{isAny(errThrottled), http.StatusTooManyRequests, "throttled", own},
	{isAny(errBusy, errVerifyBusy), http.StatusServiceUnavailable, "service-unavailable", own},
	{isAny(errTooLarge), http.StatusRequestEntityTooLarge, "request-entity-too-large", own},
	{isAny(errBadRequest), http.StatusBadRequest, "bad-request", func(err error, _ action) string {
		return strings.TrimPrefix(err.Error(), "bad request: ")
	}},
	{isAny(muc.ErrProtectedJID), http.StatusBadRequest, "protected-jid", clean},
	{isAny(muc.ErrUnknownDomain), http.StatusNotFound, "unknown-domain", clean},
	{isAny(muc.ErrRoomNotFound), http.StatusNotFound, "room-not-found", clean},
	{isAny(muc.ErrOccupantNotFound), http.StatusNotFound, "occupant-not-found", clean},
	{isAny(muc.ErrMessageNotFound), http.StatusNotFound, "message-not-found", clean},
	{isAny(muc.ErrAffiliated), http.StatusConflict, "affiliated", clean},
	{isAny(muc.ErrNotSupported), http.StatusNotImplemented, "not-supported", clean},
	{isAny(muc.ErrRefused, muc.ErrEntryRefused), http.StatusForbidden, "forbidden", clean},
	{isAny(muc.ErrClosed), http.StatusServiceUnavailable, "service-unavailable",
		say("muc-kick is shutting down; try again shortly")},
	{isAny(errNotReady, muc.ErrUnavailable), http.StatusServiceUnavailable, "service-unavailable",
		say(errNotReady.Error())},
	{isAny(muc.ErrStreamLost), http.StatusServiceUnavailable, "service-unavailable",
		sayMaybe("the connection to the XMPP server was lost before it answered")},
	{isAny(muc.ErrNoAnswer), http.StatusGatewayTimeout, "gateway-timeout",
		sayMaybe("the XMPP server did not answer in time")},
	{isAny(context.DeadlineExceeded), http.StatusGatewayTimeout, "gateway-timeout",
		say("the request did not finish in time; what it did so far may have happened")},
	{isAny(context.Canceled), http.StatusServiceUnavailable, "service-unavailable",
		say("the request was cancelled")},
	{isStanzaError, http.StatusBadGateway, "bad-gateway", func(err error, _ action) string {
		var serr *muc.StanzaError
		errors.As(err, &serr)
		return "the XMPP server answered with an error: " + serr.Error()
	}},
}

// classify finds the answer to a failed request for act: its status, the
// message for the client and the outcome word. An error no row names is an
// XMPP failure (502).
func classify(err error, act action) (code int, msg, outcome string) {
	for _, row := range errorTable {
		if row.is(err) {
			return row.code, row.message(err, act), row.outcome
		}
	}
	return http.StatusBadGateway, "XMPP failure: " + err.Error(), "bad-gateway"
}

// isAny matches an error that is any of errs, as errors.Is finds it.
func isAny(errs ...error) func(error) bool {
	return func(err error) bool {
		for _, e := range errs {
			if errors.Is(err, e) {
				return true
			}
		}
		return false
	}
}

// isStanzaError matches an error the XMPP server answered that muc names
// no outcome for.
func isStanzaError(err error) bool {
	var serr *muc.StanzaError
	return errors.As(err, &serr)
}

// own is the error's own text.
func own(err error, _ action) string { return err.Error() }

// clean drops the package prefix from a muc error for a client's eyes.
func clean(err error, _ action) string {
	return strings.TrimPrefix(err.Error(), "muc: ")
}

// say answers with msg, whatever the error.
func say(msg string) func(error, action) string {
	return func(error, action) string { return msg }
}

// sayMaybe answers with msg, and that the change act asked for may or may
// not have happened.
func sayMaybe(msg string) func(error, action) string {
	return func(_ error, act action) string {
		if act.noun() == "" {
			return msg
		}
		return msg + "; the " + act.noun() + " may or may not have happened"
	}
}

// rateLimitError is a 429: base is errRateLimited (a client's rate) or
// errThrottled (an address's failed authentication), client who waits.
type rateLimitError struct {
	base   error
	client string
	wait   time.Duration
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("%v: %q may try again in %s", e.base, e.client, e.wait.Round(time.Millisecond))
}

func (e *rateLimitError) Unwrap() error { return e.base }
