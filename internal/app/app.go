// Package app builds muc-kick from its configuration: the component, the
// room manager, the metrics and the HTTP handler, wired as the process runs
// them. main.go adds the process's life (signals, listeners, systemd); the
// benchmark builds the same thing, so that it measures what runs.
package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/metrics"
	"github.com/muc-kick/muc-kick/muc"
)

// App is muc-kick's parts, wired.
type App struct {
	Component *component.Component
	Rooms     *muc.Manager
	Metrics   *metrics.Metrics
	Handler   http.Handler     // the HTTP API, with /metrics (for loopback peers) unless metrics.listen is set
	API       *httpapi.Handler // the same, to update its credentials on SIGHUP
	// KickBound is the longest a request may take: the first IQ, the
	// entry, the second IQ, and some slack.
	KickBound time.Duration
}

// New wires muc-kick from cfg. onSession, if not nil, learns when the
// component's stream comes up or goes down (after the room manager did).
// Nothing runs until Component.Run is called.
func New(cfg *config.Config, log *slog.Logger, onSession func(up bool)) *App {
	comp := newComponent(cfg, log)
	mgr := muc.NewManager(comp, muc.Options{
		Domains:     cfg.MUC.Domains,
		Nick:        cfg.MUC.Nick,
		Policy:      roomPolicy(cfg.MUC.RoomPolicy),
		Linger:      cfg.MUC.Linger.Duration,
		MaxIdle:     cfg.MUC.MaxIdle.Duration,
		MaxRooms:    int(cfg.MUC.MaxRooms),
		JoinTimeout: cfg.Component.IQTimeout.Duration,
		Logger:      log,
	})
	comp.SetHandler(sessionHook{Handler: mgr, changed: onSession})
	stats := metrics.New(comp, mgr)

	auth := Auth(cfg)
	var trusted []netip.Prefix
	for _, p := range cfg.HTTP.TrustedProxies {
		pp, _ := config.ParsePrefix(p) // validated
		trusted = append(trusted, pp)
	}
	var onAPI http.Handler // /metrics on the API's listener, unless it has its own
	if cfg.Metrics.Listen == "" {
		onAPI = loopbackOnly(stats.Handler())
	}
	kickBound := 3*cfg.Component.IQTimeout.Duration + 5*time.Second
	handler := httpapi.New(mgr, httpapi.Options{
		Path:                cfg.HTTP.Path,
		AuthorizationHeader: auth.AuthorizationHeader,
		Clients:             auth.Clients,
		CredentialKeys:      cfg.HTTP.CredentialKeys,
		CredentialHost:      cfg.Component.Domain,
		Revoked:             auth.Revoked,
		CredentialRate:      auth.CredentialRate,
		CredentialBurst:     auth.CredentialBurst,
		MaxBodyBytes:        cfg.HTTP.MaxBodyBytes,
		MaxInFlight:         int(cfg.HTTP.MaxInFlight),
		RequestTimeout:      kickBound,
		Ready:               comp.Ready,
		NotReady:            comp.NotReady,
		Logger:              log,
		Observe:             stats.Observe,
		Metrics:             onAPI,
		TrustedProxies:      trusted,
	})
	return &App{
		Component: comp,
		Rooms:     mgr,
		Metrics:   stats,
		Handler:   handler,
		API:       handler,
		KickBound: kickBound,
	}
}

// newComponent makes the XEP-0114 component of cfg.
func newComponent(cfg *config.Config, log *slog.Logger) *component.Component {
	keepalive := cfg.Component.KeepaliveInterval.Duration
	if keepalive == 0 {
		keepalive = -1 // off
	}
	return component.New(component.Options{
		Server:            cfg.Component.Server,
		Domain:            cfg.Component.Domain,
		Secret:            cfg.Component.Secret,
		ConnectTimeout:    cfg.Component.ConnectTimeout.Duration,
		IQTimeout:         cfg.Component.IQTimeout.Duration,
		KeepaliveInterval: keepalive,
		KeepaliveTimeout:  cfg.Component.KeepaliveTimeout.Duration,
		KeepaliveTo:       cfg.MUC.Domains[0],
		RoomDomains:       cfg.MUC.Domains,
		// Tell whether the server splits the domain's stanzas with another
		// stream (ejabberd with two instances on one domain).
		Probe:  8,
		Logger: log,
	})
}

// Auth is the part of cfg that the HTTP API can take without a restart.
func Auth(cfg *config.Config) httpapi.Auth {
	clients := make([]httpapi.Client, len(cfg.HTTP.Clients))
	for i, c := range cfg.HTTP.Clients {
		clients[i] = httpapi.Client{Name: c.Name, Header: c.AuthorizationHeader, SHA256: c.AuthorizationSHA256,
			Argon2id: c.AuthorizationArgon2id, Actions: c.Granted,
			Rooms: c.Rooms, Rate: c.Rate, Burst: int(c.Burst)}
	}
	return httpapi.Auth{AuthorizationHeader: cfg.HTTP.AuthorizationHeader, Clients: clients, Revoked: cfg.HTTP.Revoked,
		CredentialRate: cfg.HTTP.CredentialRate, CredentialBurst: int(cfg.HTTP.CredentialBurst),
		CredentialKeys: cfg.HTTP.CredentialKeys}
}

// KeyChanges says which credential keys a reload adds and removes, each by
// its id (KeyID).
func KeyChanges(old, keys [][]byte) (changes []string) {
	for _, k := range keys {
		if !slices.ContainsFunc(old, func(o []byte) bool { return bytes.Equal(o, k) }) {
			changes = append(changes, "credential key "+KeyID(k)+" added")
		}
	}
	for _, o := range old {
		if !slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(o, k) }) {
			changes = append(changes, "credential key "+KeyID(o)+" removed: its credentials are refused")
		}
	}
	return changes
}

// KeyID names a credential key in logs without showing it: the first 8 hex
// digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// sessionHook passes the component's session changes on to the room
// manager, then to changed.
type sessionHook struct {
	component.Handler
	changed func(up bool)
}

func (h sessionHook) SessionChanged(up bool) {
	h.Handler.SessionChanged(up)
	if h.changed != nil {
		h.changed(up)
	}
}

// Timeouts bound what one HTTP connection may take, so a slow or idle client
// cannot hold it.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
	// ErrorSummary is the interval over which net/http's own error lines
	// (a TLS handshake that failed, …) are summarised past the first few;
	// 0: a minute.
	ErrorSummary time.Duration
}

// IdleTimeout is how long a kept-alive connection may wait for its next
// request: short, since each costs memory, and a backend that kicks now
// and then opens a new one cheaply.
const IdleTimeout = 10 * time.Second

// DefaultTimeouts are the HTTP server's timeouts for requests that may take
// kickBound to carry out.
func DefaultTimeouts(kickBound time.Duration) Timeouts {
	return Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30*time.Second + kickBound, Idle: IdleTimeout}
}

// NewHTTPServer returns the HTTP server muc-kick serves h with.
func NewHTTPServer(h http.Handler, log *slog.Logger, t Timeouts) *http.Server {
	if t.ErrorSummary <= 0 {
		t.ErrorSummary = time.Minute
	}
	errs := &errorSummary{log: log, interval: t.ErrorSummary}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          stdlog.New(errs, "", 0),
	}
}

// roomPolicy maps muc.room_policy (validated) to the muc package's Policy.
func roomPolicy(name string) muc.Policy {
	if name == "linger" {
		return muc.PolicyLinger
	}
	return muc.PolicyAdaptive
}
