// Command muc-kick kicks occupants out of XMPP multi-user chat rooms on
// behalf of a web backend. It connects to the XMPP server as an external
// component (XEP-0114) with admin rights over the MUC service and serves the
// HTTP API of Prosody's mod_http_muc_kick.
//
// Usage:
//
//	muc-kick -config /etc/muc-kick/config.toml
//	muc-kick -config FILE -check-config
//	muc-kick -version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/muc"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure: the listener, a refused handshake
	exitConfig  = 2 // bad flags or configuration
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muc-kick", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/muc-kick/config.toml", "the configuration `file`")
	checkOnly := fs.Bool("check-config", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *showVersion {
		printVersion(stdout)
		return exitOK
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick:", err)
		return exitConfig
	}
	if *checkOnly {
		fmt.Fprintf(stdout, "muc-kick: %s is valid\n", *configPath)
		return exitOK
	}
	log := newLogger(cfg.Log, stderr)

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		log.Error("cannot listen for HTTP", "listen", cfg.HTTP.Listen, "err", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, stop, cfg, log, ln)
}

// serve runs the daemon on ln until ctx ends or something fails for good,
// and returns the exit code.
func serve(ctx context.Context, stopSignals func(), cfg *config.Config, log *slog.Logger, ln net.Listener) int {

	keepalive := cfg.Component.KeepaliveInterval.Duration
	if keepalive == 0 {
		keepalive = -1 // off
	}
	comp := component.New(component.Options{
		Server:            cfg.Component.Server,
		Domain:            cfg.Component.Domain,
		Secret:            cfg.Component.Secret,
		ConnectTimeout:    cfg.Component.ConnectTimeout.Duration,
		IQTimeout:         cfg.Component.IQTimeout.Duration,
		KeepaliveInterval: keepalive,
		KeepaliveTimeout:  cfg.Component.KeepaliveTimeout.Duration,
		KeepaliveTo:       cfg.MUC.Domains[0],
		Logger:            log,
	})
	mgr := muc.NewManager(comp, muc.Options{
		Domains:     cfg.MUC.Domains,
		Nick:        cfg.MUC.Nick,
		Linger:      cfg.MUC.Linger.Duration,
		JoinTimeout: cfg.Component.IQTimeout.Duration,
		Logger:      log,
	})
	comp.SetHandler(mgr)

	// A kick takes at most: the first IQ, the entry, the second IQ.
	kickBound := 3*cfg.Component.IQTimeout.Duration + 5*time.Second
	srv := &http.Server{
		Handler: httpapi.New(mgr, httpapi.Options{
			Path:                cfg.HTTP.Path,
			AuthorizationHeader: cfg.HTTP.AuthorizationHeader,
			MaxBodyBytes:        cfg.HTTP.MaxBodyBytes,
			Ready:               comp.Connected,
			Logger:              log,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30*time.Second + kickBound,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	compCtx, stopComp := context.WithCancel(context.Background())
	defer stopComp()
	compDone := make(chan error, 1)
	go func() { compDone <- comp.Run(compCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()
	log.Info("muc-kick started", "version", version, "http", ln.Addr().String(), "path", cfg.HTTP.Path,
		"component", cfg.Component.Domain, "server", cfg.Component.Server, "muc_domains", cfg.MUC.Domains)

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

	grace, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownGrace.Duration)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		log.Warn("kicks still in flight at the end of the grace period", "err", err)
		srv.Close()
	}
	leave, cancelLeave := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelLeave()
	if err := mgr.Close(leave); err != nil {
		log.Warn("rooms not all left", "err", err)
	}
	stopComp()
	if err := <-compDone; err != nil && !errors.Is(err, context.Canceled) && code == exitOK {
		log.Error("component", "err", err)
		code = exitFailure
	}
	log.Info("stopped")
	return code
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "muc-kick %s\n", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(w, "%s, module %s %s\n", bi.GoVersion, bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "vcs.modified" {
				fmt.Fprintf(w, "%s=%s\n", s.Key, s.Value)
			}
		}
	}
}
