// Package httpapi serves muc-kick's HTTP API: POST /muc_kick, compatible
// with Prosody's mod_http_muc_kick (and extended to kick by JID), POST
// /muc_ban and /muc_unban, and the /healthz, /readyz and /metrics probes.
//
// Every answer but /metrics is JSON; every failure is {"error": "..."} with
// the status that says what happened (see status), and a kick by JID that
// failed part-way also says who was kicked. A handler that panics is
// recovered and answered 500 {"error": "internal error"}.
//
// Handlers are thin: an inner function returns a result or an error, and one
// function maps errors to statuses: this package's and muc's, which name
// every outcome of a kick, so that the XMPP connection below muc is none of
// this package's business.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

// Moderator carries out kicks and bans; *muc.Manager is one.
type Moderator interface {
	Kick(ctx context.Context, room jid.JID, nick, reason string) error
	KickJID(ctx context.Context, room, user jid.JID, reason string) ([]string, error)
	Ban(ctx context.Context, room, user jid.JID, reason string) error
	Unban(ctx context.Context, room, user jid.JID) error
}

// Options configure the handler.
type Options struct {
	// Path is where kicks are posted; default /muc_kick. Bans and unbans
	// go beside it: /muc_ban and /muc_unban in the same directory.
	Path string
	// AuthorizationHeader is the exact Authorization value of
	// mod_http_muc_kick's single credential; its client is named "default".
	AuthorizationHeader string
	Clients             []Client // named clients
	// CredentialKeys verify signed credentials (Bearer tokens) issued for
	// CredentialHost; the first is the current key. Revoked lists refused
	// client names and token ids.
	CredentialKeys [][]byte
	CredentialHost string
	Revoked        []string
	// CredentialRate and CredentialBurst limit each signed credential that
	// carries no rate of its own; rate 0: no limit.
	CredentialRate  float64
	CredentialBurst int
	// (Handler.Update replaces AuthorizationHeader, Clients, Revoked and
	// the credential rate while the handler runs.)
	MaxBodyBytes int64 // default 64 KiB
	MaxInFlight  int   // kicks carried out at once; default 1024
	// RequestTimeout bounds the XMPP work of one request (a kick by JID
	// sends one IQ per session); past it the answer is 504, with what was
	// done so far. Default 1 minute.
	RequestTimeout time.Duration
	Ready          func() bool // whether kicks can be carried out now (the component is connected and not standing by or sharing its domain)
	// NotReady, if set, says why Ready is false, for /readyz's body
	// (e.g. a standby: another instance holds the component domain).
	NotReady   func() error
	RetryAfter time.Duration    // sent with 503; default 5s
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger
	// Observe, if set, learns the outcome of every kick request (the
	// audit log's outcome word), its status and its duration.
	Observe func(outcome string, code int, d time.Duration)
	// Metrics, if set, is served at GET /metrics.
	Metrics http.Handler
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For names the client, for the limit of failed
	// authentication; by default every request is the peer's.
	TrustedProxies []netip.Prefix
	// FailureLogInterval is how often the failures from one address are
	// summarised in the log; default DefaultFailureLogInterval.
	FailureLogInterval time.Duration
}

// Client is a named caller with its own credential.
type Client struct {
	Name   string
	Header string   // the exact Authorization value, or
	SHA256 string   // its hex SHA-256
	Rooms  []string // patterns ("team-*@conference.example.org"); none: all rooms
	Rate   float64  // requests per second; 0: no limit
	Burst  int
}

// Errors of request handling, mapped to 4xx by status.
var (
	errUnauthorized = errors.New("missing or wrong Authorization header")
	errBadRequest   = errors.New("bad request")
	errTooLarge     = errors.New("request body too large")
	errNotReady     = errors.New("not connected to the XMPP server; try again shortly")
	errOutOfScope   = errors.New("this client may not act on that room")
	errRateLimited  = errors.New("too many requests from this client")
	errThrottled    = errors.New("too many failed authentications from this address")
	errBusy         = errors.New("too many kicks in flight; try again shortly")
)

type api struct {
	mod      Moderator
	opts     Options
	log      *slog.Logger
	auth     atomic.Pointer[authState]
	inFlight chan struct{} // a semaphore
	fails    *guard

	mu         sync.Mutex         // for Update and what follows
	credRate   rateSpec           // of signed credentials without their own
	credLimits map[string]*bucket // of signed credentials, by token id
}

// Handler is the HTTP handler of the API.
type Handler struct {
	http.Handler
	api *api
}

// New returns the HTTP handler of the API.
func New(mod Moderator, opts Options) *Handler {
	if opts.Path == "" {
		opts.Path = "/muc_kick"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Ready == nil {
		opts.Ready = func() bool { return true }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1024
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &api{mod: mod, opts: opts, log: opts.Logger, inFlight: make(chan struct{}, opts.MaxInFlight),
		credRate: rateSpec{opts.CredentialRate, opts.CredentialBurst}, credLimits: make(map[string]*bucket)}
	a.auth.Store(a.buildAuth(Auth{AuthorizationHeader: opts.AuthorizationHeader, Clients: opts.Clients, Revoked: opts.Revoked}, nil))
	a.fails = newGuard(opts)

	r := httprouter.New()
	dir := path.Dir(opts.Path)
	r.POST(opts.Path, a.handle(actionKick))
	r.POST(path.Join(dir, "muc_ban"), a.handle(actionBan))
	r.POST(path.Join(dir, "muc_unban"), a.handle(actionUnban))
	r.GET("/healthz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.GET("/readyz", a.readyz)
	if opts.Metrics != nil {
		r.Handler("GET", "/metrics", opts.Metrics)
	}
	r.HandleMethodNotAllowed = true // httprouter sets Allow before calling us
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// httprouter always lists OPTIONS, which gets this 405 as well.
		allow := slices.DeleteFunc(strings.Split(w.Header().Get("Allow"), ", "), func(m string) bool { return m == http.MethodOptions })
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{fmt.Sprintf("method %s is not allowed here; use %s", req.Method, w.Header().Get("Allow"))})
	})
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{fmt.Sprintf("no such endpoint; kicks are posted to %s", opts.Path)})
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		a.log.Error("httpapi: panic", "path", req.URL.Path, "panic", v)
		writeJSON(w, http.StatusInternalServerError, errorBody{"internal error"})
	}
	r.RedirectTrailingSlash = false // a redirected POST loses its body
	r.RedirectFixedPath = false
	r.HandleOPTIONS = false // no CORS here: OPTIONS gets the same JSON 405
	return &Handler{Handler: r, api: a}
}

func (a *api) readyz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	if !a.opts.Ready() {
		msg := errNotReady.Error()
		if a.opts.NotReady != nil {
			if err := a.opts.NotReady(); err != nil {
				msg = err.Error()
			}
		}
		a.retryAfter(w)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type action int

const (
	actionKick action = iota
	actionBan
	actionUnban
)

func (a action) String() string { return [...]string{"kick", "ban", "unban"}[a] }

// done is the outcome word of a success, for the log and metrics.
func (a action) done() string { return [...]string{"kicked", "banned", "unbanned"}[a] }

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

type errorBody struct {
	Error string `json:"error"`
}

func (a *api) handle(act action) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		start := time.Now()
		var p *principal
		req, result, err := a.do(act, w, r, &p)
		code, msg := status(err)
		if code == http.StatusOK {
			writeJSON(w, code, result)
		} else {
			switch code {
			case http.StatusUnauthorized:
				for _, s := range a.auth.Load().schemes {
					w.Header().Add("WWW-Authenticate", s+` realm="muc-kick"`)
				}
			case http.StatusServiceUnavailable:
				a.retryAfter(w)
			case http.StatusTooManyRequests:
				var rl *rateLimitError
				if errors.As(err, &rl) {
					w.Header().Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(rl.wait.Seconds())))))
				}
			}
			writeJSON(w, code, failure(req, result, msg))
		}
		client, id := "-", ""
		if p != nil {
			client, id = p.name, p.id
		}
		took, what := time.Since(start), outcome(act, code, err)
		if _, absent := result["absent"]; absent {
			what = "absent"
		}
		// Failures from one address are summarised, so a flood cannot drown the log.
		if failed := code == http.StatusUnauthorized || errors.Is(err, errThrottled); !failed || a.fails.audit(a.fails.addr(r), code != http.StatusUnauthorized) {
			attrs := []any{"client", client, "remote", r.RemoteAddr, "room", req.MUC, "nick", req.Nickname, "jid", req.JID,
				"status", code, "outcome", what, "duration", took.Round(time.Microsecond)}
			if id != "" { // a signed credential: its id, as http.revoked takes it
				attrs = append(attrs[:2:2], append([]any{"credential_id", id}, attrs[2:]...)...)
			}
			a.log.Info(act.String(), attrs...)
		}
		if a.opts.Observe != nil {
			a.opts.Observe(what, code, took)
		}
	}
}

// do authorizes, decodes and validates the request, and carries it out.
func (a *api) do(act action, w http.ResponseWriter, r *http.Request, who **principal) (request, map[string]any, error) {
	addr := a.fails.addr(r)
	if wait := a.fails.blocked(addr); wait > 0 {
		return request{}, nil, &rateLimitError{base: errThrottled, client: addrString(addr), wait: wait}
	}
	p, err := a.authenticate(r.Header.Get("Authorization"))
	if err != nil {
		a.fails.failed(addr)
		return request{}, nil, err
	}
	*who = p
	if err := p.allow(a.opts.Now()); err != nil {
		return request{}, nil, err
	}
	req, err := decode(act, http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes))
	if err != nil {
		return req, nil, err
	}
	if !p.mayActOn(req.MUC) {
		return req, nil, fmt.Errorf("%w: client %q may not act on %s", errOutOfScope, p.name, req.MUC)
	}
	if !a.opts.Ready() {
		return req, nil, errNotReady
	}
	select {
	case a.inFlight <- struct{}{}:
		defer func() { <-a.inFlight }()
	default:
		return req, nil, errBusy
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.opts.RequestTimeout)
	defer cancel()
	result := map[string]any{"muc": req.MUC}
	switch {
	case act == actionBan:
		err = a.mod.Ban(ctx, req.room, req.user, req.Reason)
		result["banned"] = req.JID
	case act == actionUnban:
		err = a.mod.Unban(ctx, req.room, req.user)
		result["unbanned"] = req.JID
	case req.JID != "":
		var nicks []string
		nicks, err = a.mod.KickJID(ctx, req.room, req.user, req.Reason)
		result["kicked"] = nicks
	default:
		err = a.mod.Kick(ctx, req.room, req.Nickname, req.Reason)
		result["kicked"] = []string{req.Nickname}
		if errors.Is(err, muc.ErrOccupantNotFound) && r.Header.Get(AbsentHeader) == "ok" {
			// Opted in: the occupant is not there, which is what the kick
			// was for (a retry of a kick that landed, see the README).
			err, result["kicked"], result["absent"] = nil, []string{}, []string{req.Nickname}
		}
	}
	return req, result, err
}

// AbsentHeader, set to "ok" on a kick by nickname, makes "no such occupant"
// a 200 with {"kicked": [], "absent": [nick]} instead of a 404, so that a
// kick retried after a failover (by a load balancer or a backend) is
// idempotent. Without it, mod_http_muc_kick's answers are unchanged.
const AbsentHeader = "Muc-Kick-Absent"

// decode reads and checks a request body for act.
func decode(act action, body io.Reader) (request, error) {
	var req request
	data, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return req, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, tooLarge.Limit)
	}
	if err != nil {
		return req, fmt.Errorf("%w: reading the body: %v", errBadRequest, err)
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return req, fmt.Errorf("%w: the body must be a JSON object such as {\"nickname\": \"Bob\", \"muc\": \"room@conference.example.org\"}", errBadRequest)
	}
	if err := unambiguous(data, dec.InputOffset()); err != nil {
		return req, err
	}
	if req.Nickname, err = stringField(fields, "nickname", false); err != nil {
		return req, err
	}
	if req.JID, err = stringField(fields, "jid", false); err != nil {
		return req, err
	}
	if req.MUC, err = stringField(fields, "muc", true); err != nil {
		return req, err
	}
	if req.Reason, err = stringField(fields, "reason", false); err != nil {
		return req, err
	}
	_, hasNick := fields["nickname"]
	_, hasJID := fields["jid"]
	switch {
	case act == actionKick && hasNick && hasJID:
		return req, fmt.Errorf("%w: give \"nickname\" or \"jid\", not both", errBadRequest)
	case act == actionKick && !hasJID:
		if req.Nickname == "" {
			return req, fmt.Errorf("%w: %q is %s (or give \"jid\")", errBadRequest, "nickname", missingOrEmpty(hasNick))
		}
	case act != actionKick && hasNick:
		return req, fmt.Errorf("%w: a %s takes a \"jid\", not a \"nickname\"", errBadRequest, act)
	case req.JID == "":
		return req, fmt.Errorf("%w: %q is %s", errBadRequest, "jid", missingOrEmpty(hasJID))
	}
	if req.room, err = jid.ParseRoom(req.MUC); err != nil {
		return req, fmt.Errorf("%w: muc: %w", errBadRequest, err)
	}
	req.MUC = req.room.String()
	if req.JID != "" {
		if req.user, err = jid.Parse(req.JID); err != nil {
			return req, fmt.Errorf("%w: jid: %w", errBadRequest, err)
		}
		req.JID = req.user.String()
		if act != actionKick && !req.user.IsBare() {
			return req, fmt.Errorf("%w: jid: a %s applies to an account: give a bare JID, without /resource", errBadRequest, act)
		}
	} else if err := muc.CheckNick(req.Nickname); err != nil {
		return req, fmt.Errorf("%w: nickname: %w", errBadRequest, err)
	}
	if err := muc.CheckReason(req.Reason); err != nil {
		return req, fmt.Errorf("%w: reason: %w", errBadRequest, err)
	}
	return req, nil
}

func missingOrEmpty(present bool) string {
	if present {
		return "empty"
	}
	return "missing"
}

// stringField returns the string value of key; null counts as absent.
func stringField(fields map[string]json.RawMessage, key string, required bool) (string, error) {
	raw, ok := fields[key]
	if !ok || string(raw) == "null" {
		if required {
			return "", fmt.Errorf("%w: %q is missing", errBadRequest, key)
		}
		delete(fields, key)
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %q must be a string", errBadRequest, key)
	}
	if required && s == "" {
		return "", fmt.Errorf("%w: %q is empty", errBadRequest, key)
	}
	return s, nil
}

// status maps the outcome of a moderation request to its HTTP status and the
// message for the client, from this package's errors and muc's alone. (The
// router's 404, 405 and 500 and /readyz's 503 are answered where they are
// set up, in New.)
func status(err error) (int, string) {
	var serr *muc.StanzaError
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, err.Error()
	case errors.Is(err, errOutOfScope):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, errRateLimited), errors.Is(err, errThrottled):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, errBusy):
		return http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, strings.TrimPrefix(err.Error(), "bad request: ")
	case errors.Is(err, muc.ErrUnknownDomain), errors.Is(err, muc.ErrRoomNotFound), errors.Is(err, muc.ErrOccupantNotFound):
		return http.StatusNotFound, clean(err)
	case errors.Is(err, muc.ErrRefused), errors.Is(err, muc.ErrEntryRefused):
		return http.StatusForbidden, clean(err)
	case errors.Is(err, muc.ErrClosed):
		return http.StatusServiceUnavailable, "muc-kick is shutting down; try again shortly"
	case errors.Is(err, errNotReady), errors.Is(err, muc.ErrUnavailable):
		return http.StatusServiceUnavailable, errNotReady.Error()
	case errors.Is(err, muc.ErrStreamLost):
		return http.StatusServiceUnavailable, "the connection to the XMPP server was lost before it answered; the kick may or may not have happened"
	case errors.Is(err, muc.ErrNoAnswer):
		return http.StatusGatewayTimeout, "the XMPP server did not answer in time; the kick may or may not have happened"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "the request did not finish in time; what it did so far may have happened"
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "the request was cancelled"
	case errors.As(err, &serr):
		return http.StatusBadGateway, "the XMPP server answered with an error: " + serr.Error()
	}
	return http.StatusBadGateway, "XMPP failure: " + err.Error()
}

// clean drops the package prefix from a muc error for a client's eyes.
func clean(err error) string {
	return strings.TrimPrefix(err.Error(), "muc: ")
}

// failure is the body of a failed request: {"error": msg}, or, for a kick
// by JID that failed after kicking some, who was kicked with the error.
func failure(req request, result map[string]any, msg string) any {
	if nicks, _ := result["kicked"].([]string); req.JID != "" && len(nicks) > 0 {
		result["error"] = msg
		return result
	}
	return errorBody{msg}
}

// outcome names a result for the audit log.
func outcome(act action, code int, err error) string {
	switch {
	case err == nil:
		return act.done()
	case errors.Is(err, muc.ErrUnknownDomain):
		return "unknown-domain"
	case errors.Is(err, muc.ErrRoomNotFound):
		return "room-not-found"
	case errors.Is(err, muc.ErrOccupantNotFound):
		return "occupant-not-found"
	case errors.Is(err, errThrottled):
		return "throttled"
	}
	return strings.ToLower(strings.ReplaceAll(http.StatusText(code), " ", "-"))
}

func (a *api) retryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", fmt.Sprint(int(a.opts.RetryAfter.Seconds())))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
