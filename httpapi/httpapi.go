// Package httpapi serves muc-kick's HTTP API: POST /muc_kick, compatible
// with Prosody's mod_http_muc_kick (and extended to kick by JID), POST
// /muc_ban, /muc_unban, /muc_mute, /muc_unmute and /muc_retract and GET
// /muc_occupants beside it, and the /healthz, /readyz and /metrics probes.
//
// Every answer but /metrics is JSON; every failure is {"error": "..."} with
// the status that says what happened (see errorTable), and a kick, mute or
// unmute by JID that failed part-way also says who was changed. A handler that panics is
// recovered and answered 500 {"error": "internal error"}.
//
// Handlers are thin: an inner function returns a typed result or an error,
// and one table (errorTable) maps errors to statuses, messages and audit
// outcomes: this package's and muc's, which name
// every outcome of a kick, so that the XMPP connection below muc is none of
// this package's business.
package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/muc-kick/muc-kick/internal/credential"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
	"golang.org/x/time/rate"
)

// Moderator carries out kicks, bans, mutes and the rest; *muc.Manager is
// one.
type Moderator interface {
	Kick(ctx context.Context, room jid.JID, nick, reason string) error
	KickJID(ctx context.Context, room, user jid.JID, reason string) ([]string, error)
	Ban(ctx context.Context, room, user jid.JID, reason string) error
	// Unban lifts a ban; lifted is false when the JID had no
	// affiliation, so nothing was sent.
	Unban(ctx context.Context, room, user jid.JID) (lifted bool, err error)
	// SetRole and SetRoleJID mute (muc.RoleVisitor) and unmute
	// (muc.RoleParticipant), by nickname or as KickJID kicks.
	SetRole(ctx context.Context, room jid.JID, nick string, role muc.Role, reason string) error
	SetRoleJID(ctx context.Context, room, user jid.JID, role muc.Role, reason string) ([]string, error)
	// Occupants lists the occupants of room, but the component's own; a
	// room that does not exist is muc.ErrRoomNotFound.
	Occupants(ctx context.Context, room jid.JID) ([]muc.Occupant, error)
	// Retract retracts the messages sel names (XEP-0425): what it could,
	// and what it could not with why.
	Retract(ctx context.Context, room jid.JID, sel muc.Selection, reason string) (muc.Retraction, error)
}

// Options configure the handler.
type Options struct {
	// Path is where kicks are posted; default /muc_kick. The other
	// routes go beside it, in the same directory: /muc_ban, /muc_unban,
	// /muc_mute, /muc_unmute, /muc_occupants, /muc_retract.
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
	Header string // the exact Authorization value, or
	SHA256 string // its hex SHA-256, or
	// Argon2id is its argon2id hash in PHC format (see credential.HashArgon2id):
	// salted and slow, so that the configuration does not let a local
	// reader test guesses of a low-entropy value quickly.
	Argon2id string
	Rooms    []string // patterns ("team-*@conference.example.org"); none: all rooms
	// Actions it may take; the zero value means credential.DefaultActions
	// (kick, ban, unban: what every client could do before actions).
	Actions credential.Actions
	Rate    float64 // requests per second; 0: no limit
	Burst   int
}

type api struct {
	mod      Moderator
	opts     Options
	log      *slog.Logger
	auth     atomic.Pointer[authState]
	inFlight chan struct{} // a semaphore
	fails    *guard
	argon    *argonGate
	// crossOrigin refuses what a browser sends on behalf of another site's
	// page (Sec-Fetch-Site, or else an Origin that is not the Host); a
	// request without those headers, as servers and curl send, passes.
	crossOrigin *http.CrossOriginProtection

	mu         sync.Mutex               // for Update and what follows
	credRate   rateSpec                 // of signed credentials without their own
	credLimits map[string]*rate.Limiter // of signed credentials, by token id
}

// Handler is the HTTP handler of the API.
type Handler struct {
	http.Handler
	api *api
}

// New returns the HTTP handler of the API.
func New(mod Moderator, opts Options) *Handler {
	opts = opts.withDefaults()
	a := &api{mod: mod, opts: opts, log: opts.Logger, inFlight: make(chan struct{}, opts.MaxInFlight),
		credRate: rateSpec{opts.CredentialRate, opts.CredentialBurst}, credLimits: make(map[string]*rate.Limiter)}
	a.argon = newArgonGate()
	a.auth.Store(a.buildAuth(Auth{AuthorizationHeader: opts.AuthorizationHeader, Clients: opts.Clients, Revoked: opts.Revoked,
		CredentialKeys: opts.CredentialKeys}, nil))
	a.fails = newGuard(opts)
	a.crossOrigin = http.NewCrossOriginProtection()

	r := httprouter.New()
	dir := path.Dir(opts.Path)
	r.POST(opts.Path, a.handle(actionKick))
	r.POST(path.Join(dir, "muc_ban"), a.handle(actionBan))
	r.POST(path.Join(dir, "muc_unban"), a.handle(actionUnban))
	r.POST(path.Join(dir, "muc_mute"), a.handle(actionMute))
	r.POST(path.Join(dir, "muc_unmute"), a.handle(actionUnmute))
	r.GET(path.Join(dir, "muc_occupants"), a.handle(actionOccupants))
	r.POST(path.Join(dir, "muc_retract"), a.handle(actionRetract))
	r.GET("/healthz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		writeJSON(w, http.StatusOK, statusBody{"ok"})
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

// withDefaults fills in what opts leaves unset.
func (opts Options) withDefaults() Options {
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
	return opts
}

// readyz answers 200 when kicks can be carried out, else 503. Why not is
// said only to a caller on this host or an authenticated one: to others
// the detail (a standby, a lost server) would map the deployment.
func (a *api) readyz(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if a.opts.Ready() {
		writeJSON(w, http.StatusOK, statusBody{"ready"})
		return
	}
	msg := notReadyGeneric
	if a.mayKnowWhy(r) {
		msg = errNotReady.Error()
		if a.opts.NotReady != nil {
			if err := a.opts.NotReady(); err != nil {
				msg = err.Error()
			}
		}
	}
	a.retryAfter(w)
	writeJSON(w, http.StatusServiceUnavailable, errorBody{msg})
}

// notReadyGeneric is /readyz's 503 body for those who may not know why.
const notReadyGeneric = "not ready"

// mayKnowWhy reports whether r may read why muc-kick is not ready: it comes
// straight from a loopback address (not through a proxy, which would make
// every caller look local), or it authenticates (a wrong credential counts
// as a failed authentication of its address).
func (a *api) mayKnowWhy(r *http.Request) bool {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && ap.Addr().Unmap().IsLoopback() &&
		r.Header.Get("X-Forwarded-For") == "" && r.Header.Get("Forwarded") == "" {
		return true
	}
	if r.Header.Get("Authorization") == "" {
		return false
	}
	_, err := a.identify(r)
	return err == nil
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
