package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/muc"
)

// serve runs the daemon on ln until ctx ends or something fails for good,
// and returns the exit code.
func serve(ctx context.Context, stopSignals func(), cfg *config.Config, log *slog.Logger, ln net.Listener) int {
	d := app.New(cfg, log, func(up bool) {
		if up {
			notify(log, "STATUS=connected to "+cfg.Component.Server+" as "+cfg.Component.Domain)
		} else {
			notify(log, "STATUS=not connected to "+cfg.Component.Server+"; kicks get 503 until it is back")
		}
	})
	srv := app.NewHTTPServer(d.Handler, log, app.DefaultTimeouts(d.KickBound))
	ln = app.LimitListener(ln, int(cfg.HTTP.MaxConnections))
	certs, serveHTTP, err := httpServing(cfg, log, srv, ln)
	if err != nil {
		return exitFailure
	}
	stopMetrics, err := serveMetrics(cfg, log, d)
	if err != nil {
		return exitFailure
	}
	defer stopMetrics()

	// SIGHUP (systemctl reload) reloads the certificate, the named clients,
	// the revoked credentials and the credential keys, rather than ending
	// the process as Go would by default.
	stopHUP := reloadOnSIGHUP(log, certs, cfg.Path(), d.API, cfg.HTTP.CredentialKeys)
	defer stopHUP()

	compCtx, stopComp := context.WithCancel(context.Background())
	defer stopComp()
	compDone := make(chan error, 1)
	go func() { compDone <- d.Component.Run(compCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- serveHTTP() }()
	log.Info("muc-kick started", "version", version, "http", ln.Addr().String(), "path", cfg.HTTP.Path,
		"component", cfg.Component.Domain, "server", cfg.Component.Server, "muc_domains", cfg.MUC.Domains)
	notify(log, "READY=1") // the listener is up: requests are answered from now on

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing kicks in flight, leaving rooms")
	case err := <-compDone:
		compDone <- err
		log.Error("giving up", "err", err)
		code = exitFailure
	case err := <-httpDone:
		httpDone <- err
		log.Error("HTTP server failed", "err", err)
		code = exitFailure
	}
	stopSignals() // a second signal now ends the process at once
	notify(log, "STOPPING=1")
	return shutdown(cfg, log, srv, d.Rooms, func() error { stopComp(); return <-compDone }, code)
}

// httpServing sets srv up for TLS if cfg says so, and returns the function
// that serves it on ln, and the certificate SIGHUP reloads (nil without
// TLS). It logs why it cannot.
func httpServing(cfg *config.Config, log *slog.Logger, srv *http.Server, ln net.Listener) (*certReloader, func() error, error) {
	if cfg.HTTP.TLSCert == "" {
		if plainCredentialsExposed(ln.Addr()) {
			log.Warn("credentials over plain HTTP on a non-loopback address: anyone on the path can read and replay them (Basic, Bearer and signed credentials alike); set http.tls_cert and http.tls_key, or put muc-kick behind a TLS reverse proxy",
				"listen", ln.Addr().String())
		}
		return nil, func() error { return srv.Serve(ln) }, nil
	}
	certs, err := newCertReloader(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
	if err != nil {
		log.Error("cannot load the TLS certificate", "err", err)
		return nil, nil, err
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
	return certs, func() error { return srv.ServeTLS(ln, "", "") }, nil
}

// metricsConnections caps the connections to metrics.listen: a scraper or
// two needs no more.
const metricsConnections = 16

// serveMetrics serves /metrics on metrics.listen, if that is set, until
// the returned function is called.
func serveMetrics(cfg *config.Config, log *slog.Logger, d *app.App) (stop func(), err error) {
	if cfg.Metrics.Listen == "" {
		return func() {}, nil
	}
	mln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		log.Error("cannot listen for metrics", "listen", cfg.Metrics.Listen, "err", err)
		return nil, err
	}
	msrv := app.NewHTTPServer(d.Metrics.Handler(), log, app.DefaultTimeouts(0))
	go msrv.Serve(app.LimitListener(mln, metricsConnections))
	log.Info("metrics served", "listen", mln.Addr().String())
	return func() { msrv.Close() }, nil
}

// shutdown ends the daemon: srv stops taking requests and lets those in
// flight finish within the grace period, the rooms are left, stopComp ends
// the component's stream and returns what its Run did. It returns the exit
// code, code unless the component failed.
func shutdown(cfg *config.Config, log *slog.Logger, srv *http.Server, rooms *muc.Manager, stopComp func() error, code int) int {
	// The listener closes; kicks in flight get the grace period to finish.
	grace, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownGrace.Duration)
	defer cancel()
	overdue := srv.Shutdown(grace) != nil
	if overdue {
		log.Warn("kicks still in flight at the end of the grace period: answering them 503")
	}
	// Leaving the rooms and closing the stream end whatever kicks are still
	// in flight: one waiting to enter a room gets muc.ErrClosed, one waiting
	// for the server's answer the stream's end, each a 503 that says so.
	leave, cancelLeave := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelLeave()
	if err := rooms.Close(leave); err != nil {
		log.Warn("rooms not all left", "err", err)
	}
	if err := stopComp(); err != nil && !errors.Is(err, context.Canceled) && code == exitOK {
		log.Error("component", "err", err)
		code = exitFailure
	}
	if overdue {
		// Let them write those answers, then cut what is left.
		last, cancelLast := context.WithTimeout(context.Background(), time.Second)
		defer cancelLast()
		if srv.Shutdown(last) != nil {
			srv.Close()
		}
	}
	log.Info("stopped")
	return code
}

// logWarnings logs, at startup, what -check-config warns about and whether
// the file at path shows its secrets to others.
func logWarnings(log *slog.Logger, cfg *config.Config, path string) {
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	warnInlineSecrets(log, cfg, path)
}

// warnInlineSecrets warns when the configuration file at path holds secrets
// and others can read it. (A warning, not a refusal: under the systemd unit,
// with DynamicUser=, the service can read only a file that others can, so
// that file must hold no secret: component.secret_file and
// authorization_sha256 keep them out.)
func warnInlineSecrets(log *slog.Logger, cfg *config.Config, path string) {
	secrets := inlineSecrets(cfg)
	if len(secrets) == 0 {
		return
	}
	if err := config.CheckPrivate(strings.Join(secrets, ", "), path); err != nil {
		log.Warn("the configuration file holds secrets that others can read; chmod 600 it, or keep them out with component.secret_file and authorization_sha256", "err", err)
	}
}

// inlineSecrets names the secrets that the configuration file holds itself.
func inlineSecrets(cfg *config.Config) (keys []string) {
	if cfg.Component.SecretFile == "" {
		keys = append(keys, "component.secret")
	}
	if cfg.HTTP.AuthorizationHeader != "" {
		keys = append(keys, "http.authorization_header")
	}
	for _, c := range cfg.HTTP.Clients {
		if c.AuthorizationHeader != "" {
			keys = append(keys, "http.client "+c.Name+" authorization_header")
		}
	}
	return keys
}

// plainCredentialsExposed reports whether credentials would cross a network
// in clear text: plain HTTP on an address other than loopback. Every kind
// does: a Basic or Bearer header replays as well as it reads, a signed
// credential too until it expires, and muc-kick always has one (it refuses
// to start without).
func plainCredentialsExposed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
}
