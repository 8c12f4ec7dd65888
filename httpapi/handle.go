package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// action is what a route does: the right a caller must hold for it, the
// outcome word of its success, for the log and metrics, whom its request
// names, and for a mute or an unmute the role it gives.
type action struct {
	right  credential.Action
	done   string
	target target
	role   muc.Role
}

// target is whom a request names.
type target int

const (
	anOccupant target = iota // "nickname", or "jid": bare, every session of the account; full, that one
	anAccount                // "jid", bare
	theRoom                  // the room alone, in the query: "?muc=room@service"
	aSender                  // "id"; or "nickname" or "jid" (bare), with "last" and/or "since"
)

// The actions of the routes.
var (
	actionKick   = action{credential.Kick, "kicked", anOccupant, ""}
	actionBan    = action{credential.Ban, "banned", anAccount, ""}
	actionUnban  = action{credential.Unban, "unbanned", anAccount, ""}
	actionMute   = action{credential.Mute, "muted", anOccupant, muc.RoleVisitor}
	actionUnmute = action{credential.Unmute, "unmuted", anOccupant, muc.RoleParticipant}
	// The occupant list.
	actionOccupants = action{credential.Occupants, "listed", theRoom, ""}
	actionRetract   = action{credential.Retract, "retracted", aSender, ""}
)

func (a action) String() string { return string(a.right) }

// noun names the change act asks for, "" when it changes nothing.
func (a action) noun() string {
	switch a {
	case actionOccupants:
		return ""
	case actionRetract:
		return "retraction"
	}
	return string(a.right)
}

// verb is what a caller not granted a may not do, naming the action.
func (a action) verb() string {
	if a == actionOccupants {
		return `list the occupants, the action "occupants"`
	}
	return string(a.right)
}

// request is the body of a POST: mod_http_muc_kick's {"nickname", "muc",
// "reason"}, or "jid" instead of "nickname"; for a retraction also "id",
// "last" and "since". A GET's query gives "muc" alone.
type request struct {
	Nickname string
	JID      string // canonical
	MUC      string // canonical bare room JID after validation
	Reason   string
	room     jid.JID   // MUC, parsed
	user     jid.JID   // JID, parsed
	ID       string    // a retraction's message
	Last     int       // a retraction's count of the sender's newest messages; 0: none
	Since    time.Time // a retraction's bound: messages archived since; zero: none
}

// result is the answer to a moderation request that was carried out, in
// full or, for a kick, mute or unmute by JID, in part (then with Error). Its fields are in
// the order of their names, as mod_http_muc_kick's clients have seen them.
type result struct {
	Absent []string `json:"absent,omitempty"` // a kick by nickname of one not there, with AbsentHeader
	// AlreadyUnbanned: an unban of a JID with no affiliation, not banned.
	AlreadyUnbanned bool       `json:"already_unbanned,omitempty"`
	Banned          string     `json:"banned,omitempty"`
	Error           string     `json:"error,omitempty"`
	Failed          []failure  `json:"failed,omitempty"` // messages a retraction could not retract
	Kicked          []string   `json:"kicked,omitzero"`  // [] with Absent
	MUC             string     `json:"muc"`
	Muted           []string   `json:"muted,omitempty"`
	Occupants       []occupant `json:"occupants,omitzero"` // [] in an empty room
	Retracted       []string   `json:"retracted,omitempty"`
	Unbanned        string     `json:"unbanned,omitempty"`
	Unmuted         []string   `json:"unmuted,omitempty"`
}

// changedSome reports whether r names occupants kicked, muted or unmuted.
func (r result) changedSome() bool {
	return len(r.Kicked)+len(r.Muted)+len(r.Unmuted) > 0
}

// roleChanged records nicks as given act's role.
func (r *result) roleChanged(act action, nicks []string) {
	if act == actionMute {
		r.Muted = nicks
	} else {
		r.Unmuted = nicks
	}
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
		switch {
		case x.res.Absent != nil:
			return http.StatusOK, "absent"
		case x.res.AlreadyUnbanned:
			return http.StatusOK, "already-unbanned"
		case x.res.Failed != nil:
			return http.StatusOK, "partly-retracted"
		}
		return http.StatusOK, act.done
	}
	code, msg, outcome := classify(x.err, act)
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
	if x.req.JID != "" && x.res.changedSome() { // a change by JID that failed part-way
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
		a.auditLine(act, x, client, id, r.RemoteAddr, code, outcome, took)
	}
	if a.opts.Observe != nil {
		a.opts.Observe(outcome, code, took)
	}
}

// auditLine writes the audit line of a request at level info, as
// a.log.Info would, without what Info costs on every request: the caller's
// program counter (runtime.Callers, for a source no handler of ours
// prints) and an interface value per attribute.
func (a *api) auditLine(act action, x exchange, client, id, remote string, code int, outcome string, took time.Duration) {
	ctx := context.Background()
	if !a.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, act.String(), 0)
	rec.AddAttrs(slog.String("client", client))
	if id != "" { // a signed credential: its id, as http.revoked takes it
		rec.AddAttrs(slog.String("credential_id", id))
	}
	rec.AddAttrs(slog.String("remote", remote), slog.String("room", x.req.MUC), slog.String("nick", x.req.Nickname), slog.String("jid", x.req.JID))
	x.req.addSelection(&rec)
	rec.AddAttrs(slog.Int("status", code), slog.String("outcome", outcome), slog.Duration("duration", took.Round(time.Microsecond)))
	_ = a.log.Handler().Handle(ctx, rec)
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
		x.err = fmt.Errorf("%w %s (client %q may: %s)", errNotAllowed, act.verb(), x.who.name, x.who.actions)
		return x
	}
	if x.err = x.who.allow(a.opts.Now()); x.err != nil {
		return x
	}
	if x.req, x.err = a.read(act, w, r); x.err != nil {
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

// read decodes and validates the request for act: the query of a GET, the
// body of a POST.
func (a *api) read(act action, w http.ResponseWriter, r *http.Request) (request, error) {
	if act.target == theRoom {
		return decodeQuery(act, r.URL.RawQuery)
	}
	return decode(act, http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes))
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
	if err != nil && !errors.Is(err, errVerifyBusy) { // busy says nothing of the credential
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
	case act == actionOccupants:
		var list []muc.Occupant
		list, err = a.mod.Occupants(ctx, req.room)
		res.Occupants = occupantsOf(list)
	case act == actionRetract:
		var r muc.Retraction
		sel := muc.Selection{ID: req.ID, Nick: req.Nickname, JID: req.user, Last: req.Last, Since: req.Since}
		r, err = a.mod.Retract(ctx, req.room, sel, req.Reason)
		err = res.retraction(r, err)
	case act.role != "" && req.JID != "":
		var nicks []string
		nicks, err = a.mod.SetRoleJID(ctx, req.room, req.user, act.role, req.Reason)
		res.roleChanged(act, nicks)
	case act.role != "":
		err = a.mod.SetRole(ctx, req.room, req.Nickname, act.role, req.Reason)
		res.roleChanged(act, []string{req.Nickname})
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
