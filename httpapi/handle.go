package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// action is what a route does: the right a caller must hold for it, and
// the outcome word of its success, for the log and metrics.
type action struct {
	right credential.Action
	done  string
}

// The actions of the routes.
var (
	actionKick  = action{credential.Kick, "kicked"}
	actionBan   = action{credential.Ban, "banned"}
	actionUnban = action{credential.Unban, "unbanned"}
)

func (a action) String() string { return string(a.right) }

// request is the body of a POST: mod_http_muc_kick's {"nickname", "muc",
// "reason"}, or "jid" instead of "nickname".
type request struct {
	Nickname string
	JID      string // canonical
	MUC      string // canonical bare room JID after validation
	Reason   string
	room     jid.JID // MUC, parsed
	user     jid.JID // JID, parsed
}

// result is the answer to a moderation request that was carried out, in
// full or, for a kick by JID, in part (then with Error). Its fields are in
// the order of their names, as mod_http_muc_kick's clients have seen them.
type result struct {
	// AlreadyUnbanned: an unban of a JID that had no affiliation; nothing was sent.
	AlreadyUnbanned bool     `json:"already_unbanned,omitempty"`
	Absent          []string `json:"absent,omitempty"` // a kick by nickname of one not there, with AbsentHeader
	Banned          string   `json:"banned,omitempty"`
	Error           string   `json:"error,omitempty"`
	Kicked          []string `json:"kicked,omitzero"` // [] with Absent
	MUC             string   `json:"muc"`
	Unbanned        string   `json:"unbanned,omitempty"`
}

type errorBody struct {
	Error string `json:"error"`
}

type statusBody struct {
	Status string `json:"status"`
}

// exchange is what became of one moderation request.
type exchange struct {
	req request
	who *principal // nil unless authenticated
	res result
	err error
}

func (a *api) handle(act action) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		start := time.Now()
		x := a.do(act, w, r)
		code, what := a.answer(w, act, x)
		a.audit(r, act, x, code, what, time.Since(start))
	}
}

// answer writes the answer to x and returns its status and outcome word.
func (a *api) answer(w http.ResponseWriter, act action, x exchange) (code int, outcome string) {
	if x.err == nil {
		writeJSON(w, http.StatusOK, x.res)
		if x.res.Absent != nil {
			return http.StatusOK, "absent"
		}
		return http.StatusOK, act.done
	}
	code, msg, outcome := classify(x.err)
	switch code {
	case http.StatusUnauthorized:
		for _, s := range a.auth.Load().schemes {
			w.Header().Add("WWW-Authenticate", s+` realm="muc-kick"`)
		}
	case http.StatusServiceUnavailable:
		a.retryAfter(w)
	case http.StatusTooManyRequests:
		var rl *rateLimitError
		if errors.As(x.err, &rl) {
			w.Header().Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(rl.wait.Seconds())))))
		}
	}
	if x.req.JID != "" && len(x.res.Kicked) > 0 { // a kick by JID that failed part-way
		x.res.Error = msg
		writeJSON(w, code, x.res)
	} else {
		writeJSON(w, code, errorBody{msg})
	}
	return code, outcome
}

// audit writes the audit line of a request and tells Observe its outcome.
// Failures from one address that are not authenticated (401, refused as
// cross-origin, throttled) are summarised, so a flood cannot drown the log.
func (a *api) audit(r *http.Request, act action, x exchange, code int, outcome string, took time.Duration) {
	client, id := "-", ""
	if x.who != nil {
		client, id = x.who.name, x.who.id
	}
	throttled := errors.Is(x.err, errThrottled)
	if failed := throttled || code == http.StatusUnauthorized || errors.Is(x.err, errCrossOrigin); !failed || a.fails.audit(a.fails.addr(r), throttled) {
		attrs := []any{"client", client, "remote", r.RemoteAddr, "room", x.req.MUC, "nick", x.req.Nickname, "jid", x.req.JID,
			"status", code, "outcome", outcome, "duration", took.Round(time.Microsecond)}
		if id != "" { // a signed credential: its id, as http.revoked takes it
			attrs = append(attrs[:2:2], append([]any{"credential_id", id}, attrs[2:]...)...)
		}
		a.log.Info(act.String(), attrs...)
	}
	if a.opts.Observe != nil {
		a.opts.Observe(outcome, code, took)
	}
}

// do authorizes, decodes and validates the request, and carries it out.
func (a *api) do(act action, w http.ResponseWriter, r *http.Request) (x exchange) {
	if err := a.crossOrigin.Check(r); err != nil {
		x.err = errCrossOrigin
		return x
	}
	if x.who, x.err = a.identify(r); x.err != nil {
		return x
	}
	if !x.who.actions.Has(act.right) {
		x.err = fmt.Errorf("%w %s (client %q may: %s)", errNotAllowed, act, x.who.name, x.who.actions)
		return x
	}
	if x.err = x.who.allow(a.opts.Now()); x.err != nil {
		return x
	}
	if x.req, x.err = decode(act, http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes)); x.err != nil {
		return x
	}
	if !x.who.mayActOn(x.req.MUC) {
		x.err = fmt.Errorf("%w: client %q may not act on %s", errOutOfScope, x.who.name, x.req.MUC)
		return x
	}
	if !a.opts.Ready() {
		x.err = errNotReady
		return x
	}
	select {
	case a.inFlight <- struct{}{}:
		defer func() { <-a.inFlight }()
	default:
		x.err = errBusy
		return x
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.opts.RequestTimeout)
	defer cancel()
	x.res, x.err = a.moderate(ctx, act, x.req, r.Header.Get(AbsentHeader) == "ok")
	return x
}

// identify authenticates r, unless its address failed too often: then it
// is throttled before its credential is even looked at. A failure counts
// against the address.
func (a *api) identify(r *http.Request) (*principal, error) {
	addr := a.fails.addr(r)
	if wait := a.fails.blocked(addr); wait > 0 {
		return nil, &rateLimitError{base: errThrottled, client: addrString(addr), wait: wait}
	}
	p, err := a.authenticate(r.Header.Get("Authorization"))
	if err != nil {
		a.fails.failed(addr)
	}
	return p, err
}

// moderate carries out a valid request: the one place that calls the
// Moderator. absentOK: see AbsentHeader.
func (a *api) moderate(ctx context.Context, act action, req request, absentOK bool) (result, error) {
	res := result{MUC: req.MUC}
	var err error
	switch {
	case act == actionBan:
		err = a.mod.Ban(ctx, req.room, req.user, req.Reason)
		res.Banned = req.JID
	case act == actionUnban:
		var lifted bool
		lifted, err = a.mod.Unban(ctx, req.room, req.user)
		res.Unbanned, res.AlreadyUnbanned = req.JID, err == nil && !lifted
	case req.JID != "":
		res.Kicked, err = a.mod.KickJID(ctx, req.room, req.user, req.Reason)
		if err == nil && res.Kicked == nil {
			res.Kicked = []string{}
		}
	default:
		err = a.mod.Kick(ctx, req.room, req.Nickname, req.Reason)
		res.Kicked = []string{req.Nickname}
		if errors.Is(err, muc.ErrOccupantNotFound) && absentOK {
			// Opted in: the occupant is not there, which is what the kick
			// was for (a retry of a kick that landed, see docs/ha.md, "Retries and what they mean").
			err, res.Kicked, res.Absent = nil, []string{}, []string{req.Nickname}
		}
	}
	return res, err
}

// AbsentHeader, set to "ok" on a kick by nickname, makes "no such occupant"
// a 200 with {"kicked": [], "absent": [nick]} instead of a 404, so that a
// kick retried after a failover (by a load balancer or a backend) is
// idempotent. Without it, mod_http_muc_kick's answers are unchanged.
const AbsentHeader = "Muc-Kick-Absent"
