// Command muc-kick kicks occupants out of XMPP multi-user chat rooms on
// behalf of a web backend. It connects to the XMPP server as an external
// component (XEP-0114) with admin rights over the MUC service and serves the
// HTTP API of Prosody's mod_http_muc_kick.
//
// Usage:
//
//	muc-kick -config /etc/muc-kick/config.toml
//	muc-kick -config FILE -check-config   (the offline half of check)
//	muc-kick -version
//	muc-kick check -config FILE           (the configuration, then the live setup)
//	muc-kick credential -config FILE -name NAME -room PATTERN|'*'... [-actions kick,mute] [-ttl 720h]
//	printf %s 'Basic …' | muc-kick credential hash
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/muc-kick/muc-kick/internal/check"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/credential"
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
	if len(args) > 0 && args[0] == "credential" {
		return credentialCmd(args[1:], os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "check" {
		return checkCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheckCmd(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("muc-kick", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/muc-kick/config.toml", "the configuration `file`")
	checkOnly := fs.Bool("check-config", false, "check the configuration and exit, without connecting: the offline half of \"muc-kick check\"")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *showVersion {
		printVersion(stdout)
		return exitOK
	}
	cfg := loadConfig(*configPath, stderr)
	if cfg == nil {
		return exitConfig
	}
	if *checkOnly {
		checkConfigOffline(stdout, stderr, cfg, *configPath)
		return exitOK
	}
	log := newLogger(cfg.Log, stderr)
	logWarnings(log, cfg, *configPath)

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		log.Error("cannot listen for HTTP", "listen", cfg.HTTP.Listen, "err", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, stop, cfg, log, ln)
}

// checkConfigOffline is -check-config, once the configuration loaded: it prints
// the warnings on stderr, that the file is valid, and what each credential
// may take. `muc-kick check` prints the same, then checks the live setup.
func checkConfigOffline(stdout, stderr io.Writer, cfg *config.Config, path string) {
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "muc-kick: warning:", w)
	}
	fmt.Fprintf(stdout, "muc-kick: %s is valid\n", path)
	reportActions(stdout, cfg)
}

// reportActions says, on w, what each credential of cfg may do.
func reportActions(w io.Writer, cfg *config.Config) {
	if cfg.HTTP.AuthorizationHeader != "" {
		fmt.Fprintf(w, "muc-kick: http.authorization_header may take every action: %s\n", credential.Everything)
	}
	for _, c := range cfg.HTTP.Clients {
		fmt.Fprintf(w, "muc-kick: client %q may take: %s\n", c.Name, c.Granted)
	}
}

// loadConfig loads the configuration at path, or prints why it cannot on
// stderr and returns nil (the caller exits with exitConfig).
func loadConfig(path string, stderr io.Writer) *config.Config {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "muc-kick:", err)
		return nil
	}
	return cfg
}

// notify tells systemd (Type=notify) about the service's state; outside
// systemd, without $NOTIFY_SOCKET, it does nothing.
func notify(log *slog.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		log.Warn("sd_notify failed", "state", state, "err", err)
	}
}

// checkCmd is `muc-kick check`: it checks the configuration as
// -check-config does, then proves the setup against the live server (see
// internal/check), and exits 1 if any check fails.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("muc-kick check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: muc-kick check [-config FILE]\n"+
			"checks the configuration (as muc-kick -check-config does), then the live setup: the handshake\n"+
			"with the XMPP server, the MUC services, and that the component becomes a moderator in a room")
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "/etc/muc-kick/config.toml", "the configuration `file`")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	cfg := loadConfig(*configPath, stderr)
	if cfg == nil {
		return exitConfig
	}
	fmt.Fprintf(stdout, "ok    %-12s %s is valid\n", "config", *configPath)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "warn  %-12s %s\n", "config", w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !check.Run(ctx, cfg, stdout) {
		return exitFailure
	}
	return exitOK
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
